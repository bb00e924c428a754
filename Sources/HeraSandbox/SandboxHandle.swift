import Foundation
import Glibc

/// A running sandbox. Its init's parent is the launcher process that started it (the
/// "monitor", a child of the worker); the monitor exits once the init has died, so the
/// init is always reaped and the handle can tell whether the init pid is still its init.
public final class SandboxHandle: @unchecked Sendable {
    public let id: String
    /// Host pid of the sandbox's PID 1.
    public let initPid: Int32
    public let spec: SandboxSpec
    let monitorPid: pid_t
    let scratchDirectory: String

    private let lock = NSLock()
    private let destroyLock = NSLock()
    private var monitorStatus: WaitStatus?
    private var destroyRequested = false
    private var destroyed = false

    init(spec: SandboxSpec, initPid: Int32, monitorPid: pid_t, scratchDirectory: String) {
        self.id = spec.id
        self.spec = spec
        self.initPid = initPid
        self.monitorPid = monitorPid
        self.scratchDirectory = scratchDirectory
    }

    var isDestroyed: Bool { lock.withLock { destroyed } }

    /// True from the moment a destroy begins.
    var isBeingDestroyed: Bool { lock.withLock { destroyRequested } }

    /// Runs `tearDown` unless an earlier call succeeded; concurrent callers wait for each other.
    func destroyOnce(_ tearDown: () throws -> Void) throws {
        lock.withLock { destroyRequested = true }
        try destroyLock.withLock {
            if isDestroyed { return }
            try tearDown()
            lock.withLock { destroyed = true }
        }
    }

    /// True until the monitor has exited, i.e. until the init has died.
    /// While the monitor runs the init is unreaped, so its pid cannot have been reused.
    func monitorIsRunning() throws -> Bool {
        try lock.withLock {
            if monitorStatus == nil { monitorStatus = try ProcessSpawn.poll(monitorPid) }
            return monitorStatus == nil
        }
    }

    /// SIGKILLs the init (and with it the PID namespace) if it is still this sandbox's init.
    func killInit() throws {
        if try monitorIsRunning() && kill(initPid, SIGKILL) != 0 && errno != ESRCH {
            throw SandboxError.system(call: "kill(init \(initPid))", errno: errno)
        }
    }

    /// Waits for the monitor to exit until `deadline` (monotonic seconds); true if it did.
    func waitForMonitor(until deadline: Double) throws -> Bool {
        while try monitorIsRunning() {
            if Clock.now() > deadline { return false }
            Clock.sleep(milliseconds: 1)
        }
        return true
    }
}

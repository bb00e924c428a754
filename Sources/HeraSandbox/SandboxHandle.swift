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

    /// Monotonic time at which the init was ready.
    let readyAt = Clock.now()

    private let lock = NSLock()
    private let destroyLock = NSLock()
    private let usageLock = NSLock()
    private var monitorStatus: WaitStatus?
    private var destroyRequested = false
    private var destroyed = false
    private var execCount = 0
    private var stats: SandboxStats?
    /// OOM kills counted in exec cgroups already removed; guarded by `usageLock`.
    private var oomKillsOfRemovedExecs = 0

    init(spec: SandboxSpec, initPid: Int32, monitorPid: pid_t, scratchDirectory: String) {
        self.id = spec.id
        self.spec = spec
        self.initPid = initPid
        self.monitorPid = monitorPid
        self.scratchDirectory = scratchDirectory
    }

    /// True once a destroy has succeeded: no process of the sandbox is left.
    public var isDestroyed: Bool { lock.withLock { destroyed } }

    /// True from the moment a destroy begins.
    var isBeingDestroyed: Bool { lock.withLock { destroyRequested } }

    /// The sandbox's usage as read by the destroy that succeeded (after the kill, before the
    /// cgroups were removed); nil before.
    public var finalStats: SandboxStats? { lock.withLock { stats } }

    /// Runs `tearDown` unless an earlier call succeeded, keeping the stats it read;
    /// concurrent callers wait for each other.
    func destroyOnce(_ tearDown: () throws -> SandboxStats) throws {
        lock.withLock { destroyRequested = true }
        try destroyLock.withLock {
            if isDestroyed { return }
            let stats = try tearDown()
            lock.withLock {
                self.stats = stats
                destroyed = true
            }
        }
    }

    /// A new name for the cgroup of the next exec.
    func nextExecCgroupName() -> String {
        lock.withLock {
            execCount += 1
            return execCgroupName(execCount)
        }
    }

    /// Reading the sandbox's usage and removing an exec's cgroup exclude each other, so the
    /// OOM kills of a finishing exec are counted exactly once: in its cgroup or in `removedOOMKills`.
    func withUsageLock<Result>(_ body: (_ removedOOMKills: inout Int) throws -> Result) rethrows -> Result {
        try usageLock.withLock { try body(&oomKillsOfRemovedExecs) }
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

/// A sandbox's root filesystem held open (see `SandboxRunner.openRoot`). Close it when done.
public final class RootDirectory: @unchecked Sendable {
    private let descriptor: FileDescriptor

    init(fd: Int32) { descriptor = FileDescriptor(fd) }

    /// A path to the directory that any process of this one can use while it is open.
    public var path: String { "/proc/\(getpid())/fd/\(descriptor.raw)" }

    public func close() { descriptor.close() }
}

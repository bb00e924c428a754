import Foundation
import Glibc

/// Starts, runs commands in and destroys sandboxes. Thread-safe: every method may be
/// called from any thread; the launcher does all namespace and mount work.
///
/// Process-wide effects: SIGPIPE is ignored (stdin writes to an exited command must fail
/// with EPIPE, not kill the worker), and the worker must not reap children it did not
/// spawn (no waitpid(-1) or SIGCHLD=SIG_IGN elsewhere), since launchers are its children.
public final class SandboxRunner: @unchecked Sendable {
    static let startTimeout = 30.0
    static let teardownTimeout = 5.0

    let launcherCommand: [String]
    let scratchRoot: String
    let cgroups: CgroupDriver
    /// The launcher gets no environment of the worker, only what the dynamic loader may need.
    let launcherEnvironment: [String]

    public var cgroupVersion: Int { cgroups.version }

    /// launcherCommand: e.g. ["/path/to/hera", "__launch"]. scratchRoot: a directory for per-sandbox scratch dirs.
    /// cgroupParent: nil = "<worker's own cgroup for each controller>/hera"; "/a/b" = that path from the
    /// root of each hierarchy; "a/b" = that path below the worker's own cgroup in each hierarchy.
    public convenience init(launcherCommand: [String], scratchRoot: String, cgroupParent: String? = nil) throws {
        try self.init(launcherCommand: launcherCommand, scratchRoot: scratchRoot,
                      cgroups: CgroupDetection.makeDriver(parent: cgroupParent))
    }

    init(launcherCommand: [String], scratchRoot: String, cgroups: CgroupDriver) throws {
        guard let executable = launcherCommand.first, access(executable, X_OK) == 0 else {
            throw SandboxError.invalidSpec("launcher is not an executable: \(launcherCommand.first ?? "(none)")")
        }
        let root = scratchRoot.count > 1 && scratchRoot.hasSuffix("/") ? String(scratchRoot.dropLast()) : scratchRoot
        guard Validation.isSafeForMountOptions(root) else {
            throw SandboxError.invalidSpec("scratchRoot must be absolute, without , : \\ or spaces: \(scratchRoot)")
        }
        try SystemFile.makeDirectories(root, mode: 0o700)
        signal(SIGPIPE, SIG_IGN)
        self.launcherCommand = launcherCommand
        self.scratchRoot = root
        self.cgroups = cgroups
        launcherEnvironment = ProcessInfo.processInfo.environment["LD_LIBRARY_PATH"].map { ["LD_LIBRARY_PATH=" + $0] } ?? []
    }

    func scratchDirectory(_ id: String) -> String { scratchRoot + "/" + id }

    /// Blocks until the sandbox's init runs, or throws (`setupFailed` names the failing step).
    public func start(_ spec: SandboxSpec) throws -> SandboxHandle {
        try Validation.validate(spec)
        try cgroups.create(sandbox: spec.id, limits: spec.limits)
        let scratch = scratchDirectory(spec.id)
        var launcherPid: pid_t?
        do {
            if mkdir(scratch, 0o700) != 0 {
                throw errno == EEXIST ? SandboxError.invalidSpec("scratch directory \(scratch) already exists")
                                      : SandboxError.system(call: "mkdir(\(scratch))", errno: errno)
            }
            let plan = SandboxPlan(spec: spec, scratchDirectory: scratch, cgroupProcsFiles: cgroups.procsFiles(sandbox: spec.id))
            let status = try PipePair(), planPipe = try PipePair()
            launcherPid = try ProcessSpawn.spawn(launcherCommand + plan.launcherArguments,
                                                 fds: [3: status.write.raw, 4: planPipe.read.raw], environment: launcherEnvironment)
            status.write.close()
            planPipe.read.close()
            // A launcher that died early fails this write with EPIPE; its report says why.
            let planWritten = Result { try planPipe.write.writeAll(plan.serialized) }
            planPipe.write.close()
            let reports = try LauncherReport.parse(try readToEnd(status.read, deadline: Clock.now() + Self.startTimeout))
            if let error = LauncherReport.firstError(in: reports) { throw error }
            try planWritten.get()
            guard case .ready(let initPid)? = reports.first, let monitorPid = launcherPid else {
                throw SandboxError.launcher("launcher ended without reporting ready")
            }
            return SandboxHandle(spec: spec, initPid: initPid, monitorPid: monitorPid, scratchDirectory: scratch)
        } catch {
            if let launcherPid {
                // After EOF on the status pipe the launcher is exiting (having reaped a failed init);
                // only a launcher that hangs is killed.
                if case SandboxError.timedOut = error { kill(launcherPid, SIGKILL) }
                _ = try? ProcessSpawn.wait(launcherPid)
            }
            _ = try? tearDown(sandbox: spec.id, handle: nil)
            throw error
        }
    }

    public func isAlive(_ sandbox: SandboxHandle) -> Bool {
        !sandbox.isDestroyed && (try? sandbox.monitorIsRunning()) == true
    }

    /// Kills every process of the sandbox and removes its cgroups and scratch directory. Idempotent.
    /// The usage read after the kill and before the removal is then `sandbox.finalStats`
    /// (and what `stats` returns).
    public func destroy(_ sandbox: SandboxHandle) throws {
        try sandbox.destroyOnce { try tearDown(sandbox: sandbox.id, handle: sandbox) ?? SandboxStats.unknown(sandbox) }
    }

    /// Opens the sandbox's root filesystem for reading after its end: the descriptor keeps the
    /// filesystem alive once the sandbox is destroyed. Copy from it only then, when every process
    /// of the sandbox is dead and nothing inside can change the tree (or swap a directory for a
    /// symbolic link) while it is read.
    public func openRoot(_ sandbox: SandboxHandle) throws -> RootDirectory {
        let fd = open("/proc/\(sandbox.initPid)/root", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0, isAlive(sandbox) else {
            if fd >= 0 { close(fd) }
            throw SandboxError.sandboxGone(id: sandbox.id)
        }
        return RootDirectory(fd: fd)
    }

    /// What the sandbox used so far (its finished and running execs included). After a destroy:
    /// the final stats. Throws `sandboxGone` once the cgroups are being removed.
    public func stats(_ sandbox: SandboxHandle) throws -> SandboxStats {
        if let stats = sandbox.finalStats { return stats }
        guard SystemFile.exists(cgroups.directories(sandbox: sandbox.id)[0]) else { throw SandboxError.sandboxGone(id: sandbox.id) }
        return try readStats(sandbox)
    }

    /// The usage of the sandbox's cgroup; OOM kills include those of removed exec cgroups.
    func readStats(_ sandbox: SandboxHandle) throws -> SandboxStats {
        try sandbox.withUsageLock { removedOOMKills in
            let usage = try cgroups.usage(sandbox: sandbox.id)
            return SandboxStats(cpuUserSeconds: usage.cpuUserSeconds, cpuSystemSeconds: usage.cpuSystemSeconds,
                                peakMemoryBytes: usage.peakMemoryBytes, peakPids: usage.peakPids,
                                oomKills: usage.oomKills + removedOOMKills, wallSeconds: Clock.now() - sandbox.readyAt)
        }
    }

    /// When the worker stops, after every sandbox has been destroyed: its (empty) cgroup parent goes.
    public func removeCgroupParent() { cgroups.removeParentIfEmpty() }

    /// After a worker crash: kills and removes every sandbox cgroup under the parent and every
    /// scratch directory. Returns how many sandboxes were removed. Live handles die too.
    public func removeLeftovers() throws -> Int {
        let names = Set(try cgroups.sandboxNames()).union(try SystemFile.subdirectories(scratchRoot))
        let ids = names.filter(Validation.isValidSandboxID)
        for id in ids.sorted() { try tearDown(sandbox: id, handle: nil) }
        return ids.count
    }

    /// Reads `fd` until EOF, failing if that takes past `deadline`.
    private func readToEnd(_ fd: FileDescriptor, deadline: Double) throws -> [UInt8] {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let remaining = deadline - Clock.now()
            guard remaining > 0 else { throw SandboxError.timedOut("waiting for the launcher's report") }
            var pollFd = pollfd(fd: fd.raw, events: Int16(POLLIN), revents: 0)
            if try retryingEINTR("poll", { poll(&pollFd, 1, Int32(remaining * 1000) + 1) }) == 0 { continue }
            let count = try retryingEINTR("read") { chunk.withUnsafeMutableBytes { read(fd.raw, $0.baseAddress, $0.count) } }
            if count == 0 { return bytes }
            bytes += chunk[0..<count]
        }
    }
}

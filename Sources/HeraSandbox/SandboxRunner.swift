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

    private let launcherCommand: [String]
    let scratchRoot: String
    let cgroups: CgroupDriver
    /// The launcher gets no environment of the worker, only what the dynamic loader may need.
    private let launcherEnvironment: [String]

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
            let status = try PipePair()
            launcherPid = try ProcessSpawn.spawn(launcherCommand + plan.launcherArguments, fds: [3: status.write.raw],
                                                 environment: launcherEnvironment)
            status.write.close()
            let reports = try LauncherReport.parse(try readToEnd(status.read, deadline: Clock.now() + Self.startTimeout))
            if let error = LauncherReport.firstError(in: reports) { throw error }
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
            try? tearDown(sandbox: spec.id, handle: nil)
            throw error
        }
    }

    /// Runs a command in the sandbox and waits for it. Output beyond `outputLimit` is discarded.
    public func exec(_ sandbox: SandboxHandle, _ request: ExecRequest) throws -> ExecResult {
        try Validation.validate(request)
        guard !sandbox.isBeingDestroyed, try sandbox.monitorIsRunning() else { throw SandboxError.sandboxGone(id: sandbox.id) }
        let oomKillsBefore = try cgroups.oomKillCount(sandbox: sandbox.id)
        let input = try PipePair(), output = try PipePair(), errors = try PipePair(), status = try PipePair()
        let plan = ExecPlan(initPid: sandbox.initPid, cgroupProcsFiles: cgroups.procsFiles(sandbox: sandbox.id), request: request)
        let started = Clock.now()
        let pid = try ProcessSpawn.spawn(launcherCommand + plan.launcherArguments,
                                         fds: [0: input.read.raw, 1: output.write.raw,
                                               2: request.mergeStderr ? output.write.raw : errors.write.raw, 3: status.write.raw],
                                         environment: launcherEnvironment)
        for childEnd in [input.read, output.write, errors.write, status.write] { childEnd.close() }
        let collected: OutputCollector.Collected
        do {
            collected = try OutputCollector(limit: request.outputLimit)
                .collect(stdin: request.stdin, stdinFd: input.write, stdoutFd: output.read, stderrFd: errors.read, statusFd: status.read)
        } catch {
            kill(pid, SIGKILL)
            _ = try? ProcessSpawn.wait(pid)
            throw error
        }
        let launcherStatus = try ProcessSpawn.wait(pid)
        let wallSeconds = Clock.now() - started
        // A destroy kills the command and may kill the launcher or remove the cgroup under us.
        if sandbox.isBeingDestroyed { throw SandboxError.sandboxGone(id: sandbox.id) }
        let reports = try LauncherReport.parse(collected.status)
        if let error = LauncherReport.firstError(in: reports) { throw error }
        var result = ExecResult(stdout: collected.stdout.bytes, stderr: collected.stderr.bytes,
                                stdoutTruncated: collected.stdout.truncated, stderrTruncated: collected.stderr.truncated,
                                exitCode: nil, signal: nil, oomKilled: false, wallSeconds: wallSeconds)
        switch reports.last {
        case .exited(let code)?: result.exitCode = code
        case .signaled(let signal)?: result.signal = signal
        default:
            throw SandboxError.launcher("exec launcher ended (\(launcherStatus)) without the command's status; was the sandbox destroyed?")
        }
        result.oomKilled = try cgroups.oomKillCount(sandbox: sandbox.id) > oomKillsBefore
        return result
    }

    public func isAlive(_ sandbox: SandboxHandle) -> Bool {
        !sandbox.isDestroyed && (try? sandbox.monitorIsRunning()) == true
    }

    /// Kills every process of the sandbox and removes its cgroups and scratch directory. Idempotent.
    public func destroy(_ sandbox: SandboxHandle) throws {
        try sandbox.destroyOnce { try tearDown(sandbox: sandbox.id, handle: sandbox) }
    }

    /// After a worker crash: kills and removes every sandbox cgroup under the parent and every
    /// scratch directory. Returns how many sandboxes were removed. Live handles die too.
    public func removeLeftovers() throws -> Int {
        let names = Set(try cgroups.sandboxNames()).union(try SystemFile.subdirectories(scratchRoot))
        let ids = names.filter(Validation.isValidSandboxID)
        for id in ids.sorted() { try tearDown(sandbox: id, handle: nil) }
        return ids.count
    }

    // MARK: - Teardown

    /// Kill the init (its PID namespace dies with it) and let the monitor reap it; then kill
    /// whatever is left in the cgroups (launchers, anything that escaped); remove cgroups and scratch.
    private func tearDown(sandbox id: String, handle: SandboxHandle?) throws {
        let deadline = Clock.now() + Self.teardownTimeout
        if let handle {
            try handle.killInit()
            _ = try handle.waitForMonitor(until: deadline)
        } else {
            try killInitsWithoutHandle(sandbox: id, until: deadline)
        }
        var killed: [Int32] = []
        while case let remaining = try cgroups.processes(sandbox: id), !remaining.isEmpty {
            guard Clock.now() < deadline else {
                throw SandboxError.timedOut("processes \(remaining) remain in the cgroup of sandbox \(id)")
            }
            killed += try cgroups.killAll(sandbox: id)
            Clock.sleep(milliseconds: 1)
        }
        if let handle {
            _ = try handle.waitForMonitor(until: deadline)
        } else {
            reapOwnChildren(killed)
        }
        try removeCgroups(sandbox: id, until: deadline)
        try removeScratchDirectory(scratchDirectory(id))
    }

    /// Without a handle the monitor is unknown: kill the sandbox's PID 1 first (a process whose
    /// innermost pid is 1) and give its parent, the monitor, a moment to reap it before the
    /// monitor is killed too, so no zombie init is orphaned.
    private func killInitsWithoutHandle(sandbox id: String, until deadline: Double) throws {
        let inits = try cgroups.processes(sandbox: id).filter(isNamespaceInit)
        _ = try CgroupFiles.kill(inits)
        let graceDeadline = min(deadline, Clock.now() + 1)
        while inits.contains(where: { SystemFile.exists("/proc/\($0)") }), Clock.now() < graceDeadline {
            Clock.sleep(milliseconds: 1)
        }
    }

    private func isNamespaceInit(_ pid: Int32) -> Bool {
        guard let status = try? SystemFile.read("/proc/\(pid)/status"),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("NSpid:") }) else { return false }
        let pids = line.split(whereSeparator: { $0 == "\t" || $0 == " " }).dropFirst()
        return pids.count > 1 && pids.last == "1"
    }

    /// Reaps killed processes that happen to be our children (a dropped handle's monitor).
    private func reapOwnChildren(_ pids: [Int32]) {
        for pid in Set(pids) {
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        }
    }

    private func removeCgroups(sandbox id: String, until deadline: Double) throws {
        while true {
            do {
                return try cgroups.remove(sandbox: id)
            } catch {
                // The kernel may need a moment after the last process left.
                if Clock.now() > deadline { throw error }
                Clock.sleep(milliseconds: 2)
            }
        }
    }

    /// The scratch directory is only a mount point inside the sandbox's mount namespace, so on
    /// the host it is normally empty and unmounted.
    private func removeScratchDirectory(_ path: String) throws {
        if rmdir(path) == 0 || errno == ENOENT { return }
        switch errno {
        case EBUSY:
            try retryingEINTR("umount2(\(path))") { umount2(path, Int32(MNT_DETACH)) }
            try retryingEINTR("rmdir(\(path))") { rmdir(path) }
        case ENOTEMPTY:
            do { try FileManager.default.removeItem(atPath: path) } catch {
                throw SandboxError.system(call: "remove \(path): \(error)", errno: ENOTEMPTY)
            }
        default:
            throw SandboxError.system(call: "rmdir(\(path))", errno: errno)
        }
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

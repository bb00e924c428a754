import Glibc

/// Execs: each runs in its own leaf cgroup `<sandbox>/exec-<n>`, which gives it a timeout
/// that reaches its whole process tree, its own usage figures and OOM verdict.
///
/// Processes that outlive their exec (background jobs, setsid'd daemons) are killed when the
/// exec ends: they are in the exec's cgroup, which is emptied, read and removed after every exec.
extension SandboxRunner {
    /// Runs a command in the sandbox and waits for it (or for its timeout). Output beyond
    /// `outputLimit` is discarded. `observer` sees the output as it arrives.
    public func exec(_ sandbox: SandboxHandle, _ request: ExecRequest, observer: ExecOutputObserver? = nil) throws -> ExecResult {
        try Validation.validate(request)
        guard !sandbox.isBeingDestroyed, try sandbox.monitorIsRunning() else { throw SandboxError.sandboxGone(id: sandbox.id) }
        let cgroup = sandbox.nextExecCgroupName()
        do {
            try cgroups.createExecCgroup(cgroup, sandbox: sandbox.id)
        } catch {
            throw sandbox.isBeingDestroyed ? SandboxError.sandboxGone(id: sandbox.id) : error
        }
        let outcome = Result { try runLauncher(sandbox, request, cgroup: cgroup, observer: observer) }
        // A destroy kills the command and may kill the launcher; it removes the exec's cgroup too.
        // What the command wrote is kept either way (endedWithSandbox carries it).
        if sandbox.isBeingDestroyed { return try outcome.get() }
        let usage = Result { try finish(execCgroup: cgroup, of: sandbox) }
        var result = try outcome.get()
        let counted = try usage.get()
        result.oomKilled = counted.oomKills > 0
        result.cpuUserSeconds = counted.cpuUserSeconds
        result.cpuSystemSeconds = counted.cpuSystemSeconds
        result.peakMemoryBytes = counted.peakMemoryBytes
        // The launcher is in the cgroup from before the command's fork until after its end.
        result.peakPids = counted.peakPids.map { max($0 - 1, 0) }
        return result
    }

    /// Spawns the exec launcher into the exec's cgroup, feeds and collects the streams, kills
    /// the cgroup's processes (all but the launcher, which reports their end) from the deadline on.
    private func runLauncher(_ sandbox: SandboxHandle, _ request: ExecRequest, cgroup: String,
                             observer: ExecOutputObserver?) throws -> ExecResult {
        let input = try PipePair(), output = try PipePair(), errors = try PipePair(), status = try PipePair()
        let plan = ExecPlan(initPid: sandbox.initPid, cgroupProcsFiles: cgroups.procsFiles(execCgroup: cgroup, sandbox: sandbox.id),
                            request: request)
        let started = Clock.now()
        let pid = try ProcessSpawn.spawn(launcherCommand + plan.launcherArguments,
                                         fds: [0: input.read.raw, 1: output.write.raw,
                                               2: request.mergeStderr ? output.write.raw : errors.write.raw, 3: status.write.raw],
                                         environment: launcherEnvironment)
        for childEnd in [input.read, output.write, errors.write, status.write] { childEnd.close() }
        let collected: OutputCollector.Collected
        do {
            collected = try OutputCollector(limit: request.outputLimit, observer: observer)
                .collect(stdin: request.stdin, stdinFd: input.write, stdoutFd: output.read, stderrFd: errors.read,
                         statusFd: status.read, deadline: request.timeoutSeconds.map { started + $0 }) {
                    _ = try CgroupFiles.kill(try cgroups.processes(execCgroup: cgroup, sandbox: sandbox.id).filter { $0 != pid })
                }
        } catch {
            kill(pid, SIGKILL)
            _ = try? ProcessSpawn.wait(pid)
            throw error
        }
        let launcherStatus = try ProcessSpawn.wait(pid)
        let wallSeconds = Clock.now() - started
        if sandbox.isBeingDestroyed {
            throw SandboxError.endedWithSandbox(ExecResult(
                stdout: collected.stdout.bytes, stderr: collected.stderr.bytes, stdoutTruncated: collected.stdout.truncated,
                stderrTruncated: collected.stderr.truncated, exitCode: nil, signal: SIGKILL, oomKilled: false,
                wallSeconds: wallSeconds, timedOut: false))
        }
        let reports = try LauncherReport.parse(collected.status)
        if let error = LauncherReport.firstError(in: reports) { throw error }
        var result = ExecResult(stdout: collected.stdout.bytes, stderr: collected.stderr.bytes,
                                stdoutTruncated: collected.stdout.truncated, stderrTruncated: collected.stderr.truncated,
                                exitCode: nil, signal: nil, oomKilled: false, wallSeconds: wallSeconds,
                                timedOut: collected.deadlinePassed)
        switch reports.last {
        case .exited(let code)?: result.exitCode = code
        case .signaled(let signal)?: result.signal = signal
        default:
            throw SandboxError.launcher("exec launcher ended (\(launcherStatus)) without the command's status; was the sandbox destroyed?")
        }
        return result
    }

    /// Kills what the exec left behind, reads its usage and removes its cgroup.
    private func finish(execCgroup cgroup: String, of sandbox: SandboxHandle) throws -> CgroupUsage {
        let deadline = Clock.now() + Self.teardownTimeout
        while case let remaining = try cgroups.processes(execCgroup: cgroup, sandbox: sandbox.id), !remaining.isEmpty {
            guard Clock.now() < deadline else {
                throw SandboxError.timedOut("processes \(remaining) remain in exec cgroup \(cgroup) of sandbox \(sandbox.id)")
            }
            _ = try cgroups.killAll(execCgroup: cgroup, sandbox: sandbox.id)
            Clock.sleep(milliseconds: 1)
        }
        return try sandbox.withUsageLock { removedOOMKills in
            let usage = try cgroups.usage(execCgroup: cgroup, sandbox: sandbox.id)
            try retryingUntil(deadline) { try cgroups.removeExecCgroup(cgroup, sandbox: sandbox.id) }
            removedOOMKills += usage.oomKills
            return usage
        }
    }
}

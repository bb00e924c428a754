import Foundation
import Glibc

/// Teardown of a sandbox: with its handle (destroy) or without (start failures, leftovers).
extension SandboxRunner {
    /// Kill the init (its PID namespace dies with it) and let the monitor reap it; then kill
    /// whatever is left in the cgroups (launchers, anything that escaped); read the final
    /// usage (with a handle; nil if unreadable); remove cgroups and scratch.
    @discardableResult
    func tearDown(sandbox id: String, handle: SandboxHandle?) throws -> SandboxStats? {
        let deadline = Clock.now() + Self.teardownTimeout
        // Without a handle, any of these may be our child (a dropped handle's monitor), which may
        // exit on its own once its init is dead, before the loop below could kill it.
        var killed: [Int32] = []
        if let handle {
            try handle.killInit()
            // A second for the monitor to see its init die; then the loop below kills it too.
            _ = try handle.waitForMonitor(until: min(deadline, Clock.now() + Self.monitorGrace))
        } else {
            killed = try cgroups.processes(sandbox: id)
            try killInitsWithoutHandle(sandbox: id, until: deadline)
        }
        while case let remaining = try cgroups.processes(sandbox: id), !remaining.isEmpty {
            guard Clock.now() < deadline else {
                throw SandboxError.timedOut("processes \(remaining) remain in the cgroup of sandbox \(id)")
            }
            killed += try cgroups.killAll(sandbox: id)
            // A killed child of ours (the monitor) stays in the cgroup, a zombie, until reaped.
            if let handle { _ = try handle.monitorIsRunning() } else { reapOwnChildren(killed, waiting: false) }
            Clock.sleep(milliseconds: 1)
        }
        if let handle {
            _ = try handle.waitForMonitor(until: deadline)
        } else {
            reapOwnChildren(killed, waiting: true)
        }
        let stats = handle.flatMap { try? readStats($0) }
        try removeCgroups(sandbox: id, until: deadline)
        try removeScratchDirectory(scratchDirectory(id))
        return stats
    }

    static let monitorGrace = 1.0

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

    /// Reaps killed processes that happen to be our children (a dropped handle's monitor);
    /// without `waiting`, only those that have already exited.
    private func reapOwnChildren(_ pids: [Int32], waiting: Bool) {
        for pid in Set(pids) {
            var status: Int32 = 0
            while waitpid(pid, &status, waiting ? 0 : WNOHANG) < 0 && errno == EINTR {}
        }
    }

    private func removeCgroups(sandbox id: String, until deadline: Double) throws {
        try retryingUntil(deadline) { try cgroups.remove(sandbox: id) }
    }

    /// Retries a cgroup removal: the kernel may need a moment after the last process left.
    func retryingUntil(_ deadline: Double, _ body: () throws -> Void) throws {
        while true {
            do {
                return try body()
            } catch {
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
}

extension SandboxStats {
    /// Stats of a sandbox whose cgroup could not be read: nothing but the wall time.
    static func unknown(_ sandbox: SandboxHandle) -> SandboxStats {
        SandboxStats(cpuUserSeconds: nil, cpuSystemSeconds: nil, peakMemoryBytes: nil, peakPids: nil, oomKills: nil,
                     wallSeconds: Clock.now() - sandbox.readyAt)
    }
}

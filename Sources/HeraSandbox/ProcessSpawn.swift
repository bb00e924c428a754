import Glibc

/// posix_spawn with an exact fd table: the child gets the given fds at the given numbers,
/// /dev/null on any of 0-2 not given, and nothing else. Signal mask and dispositions are
/// reset (the worker ignores SIGPIPE). No code of ours runs between fork and exec.
enum ProcessSpawn {
    /// `fds`: child fd number -> parent fd. Returns the child's pid.
    static func spawn(_ arguments: [String], fds: [Int32: Int32], environment: [String]) throws -> pid_t {
        guard !arguments.isEmpty else { throw SandboxError.invalidSpec("empty command") }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }

        // First move every source above all sources and targets, so no dup2 overwrites
        // a source still needed; then place them; then close everything else.
        let mapping = fds.sorted { $0.key < $1.key }
        let highest = (mapping.flatMap { [$0.key, $0.value] } + [2]).max() ?? 2
        var result: Int32 = 0
        for (index, entry) in mapping.enumerated() where result == 0 {
            result = posix_spawn_file_actions_adddup2(&actions, entry.value, highest + 1 + Int32(index))
        }
        for (index, entry) in mapping.enumerated() where result == 0 {
            result = posix_spawn_file_actions_adddup2(&actions, highest + 1 + Int32(index), entry.key)
        }
        for stdio in Int32(0)...2 where fds[stdio] == nil && result == 0 {
            result = posix_spawn_file_actions_addopen(&actions, stdio, "/dev/null", O_RDWR, 0)
        }
        let lastTarget = max(mapping.last?.key ?? 2, 2)
        let addCloseFrom: GNULibc.SpawnAddCloseFrom = try GNULibc.function("posix_spawn_file_actions_addclosefrom_np")
        if result == 0 { result = addCloseFrom(&actions, lastTarget + 1) }

        var noSignals = sigset_t(), allSignals = sigset_t()
        sigemptyset(&noSignals)
        sigfillset(&allSignals)
        if result == 0 { result = posix_spawnattr_setsigmask(&attributes, &noSignals) }
        if result == 0 { result = posix_spawnattr_setsigdefault(&attributes, &allSignals) }
        if result == 0 { result = posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF)) }
        guard result == 0 else { throw SandboxError.system(call: "posix_spawn setup", errno: result) }

        let argv = arguments.map { strdup($0) } + [nil]
        let envp = environment.map { strdup($0) } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        var pid: pid_t = 0
        result = posix_spawn(&pid, arguments[0], &actions, &attributes, argv, envp)
        guard result == 0 else { throw SandboxError.system(call: "posix_spawn(\(arguments[0]))", errno: result) }
        return pid
    }

    /// Blocks until `pid` (a child of ours) exits; returns its wait status.
    static func wait(_ pid: pid_t) throws -> WaitStatus {
        var status: Int32 = 0
        try retryingEINTR("waitpid(\(pid))") { waitpid(pid, &status, 0) }
        return WaitStatus(raw: status)
    }

    /// The wait status if `pid` has exited (and is now reaped), nil while it runs.
    static func poll(_ pid: pid_t) throws -> WaitStatus? {
        var status: Int32 = 0
        let result = try retryingEINTR("waitpid(\(pid))") { waitpid(pid, &status, WNOHANG) }
        return result == 0 ? nil : WaitStatus(raw: status)
    }

    /// Runs a command to completion and returns its exit status and stdout (for tools like busybox).
    static func runCapturingOutput(_ arguments: [String]) throws -> (status: WaitStatus, output: [UInt8]) {
        let output = try PipePair()
        let pid = try spawn(arguments, fds: [1: output.write.raw], environment: [])
        output.write.close()
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = try retryingEINTR("read") { chunk.withUnsafeMutableBytes { read(output.read.raw, $0.baseAddress, $0.count) } }
            if count == 0 { break }
            bytes += chunk[0..<count]
        }
        return (try wait(pid), bytes)
    }
}

/// A decoded waitpid status.
struct WaitStatus: Equatable, CustomStringConvertible {
    let raw: Int32
    var exitCode: Int32? { raw & 0x7f == 0 ? (raw >> 8) & 0xff : nil }
    var signal: Int32? { raw & 0x7f != 0 && raw & 0x7f != 0x7f ? raw & 0x7f : nil }
    var description: String {
        if let exitCode { return "exit \(exitCode)" }
        if let signal { return "signal \(signal)" }
        return "status \(raw)"
    }
}

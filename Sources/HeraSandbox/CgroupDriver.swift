import Glibc

/// The cgroup operations Hera needs, for one cgroup per sandbox (named by the sandbox id)
/// under a parent cgroup. v1 and v2 implement it; `CgroupDetection` picks one at start-up.
public protocol CgroupDriver: Sendable {
    /// 1 or 2.
    var version: Int { get }
    /// Creates the sandbox's cgroup(s) and applies the limits. Any failed write removes
    /// what was created and throws: a sandbox never runs with a limit missing.
    func create(sandbox: String, limits: SandboxLimits) throws
    /// The cgroup.procs files a process writes its pid into to join the sandbox.
    func procsFiles(sandbox: String) -> [String]
    /// Processes in the sandbox's cgroup(s); empty when the cgroups do not exist.
    func processes(sandbox: String) throws -> [Int32]
    /// The memory controller's count of OOM kills in the sandbox.
    func oomKillCount(sandbox: String) throws -> Int
    /// Sends SIGKILL to every process in the sandbox once; returns the pids signalled.
    func killAll(sandbox: String) throws -> [Int32]
    /// Removes the sandbox's cgroup(s); those must be empty. Missing ones are fine.
    func remove(sandbox: String) throws
    /// Names of all sandbox cgroups under the parent (for crash recovery).
    func sandboxNames() throws -> [String]
}

/// File-level helpers shared by the drivers; every failure is a `SandboxError.cgroup`.
enum CgroupFiles {
    static func write(_ value: String, to path: String) throws {
        do { try SystemFile.write(value, to: path) } catch { throw SandboxError.cgroup("writing \"\(value)\" to \(path): \(error)") }
    }

    static func read(_ path: String) throws -> String {
        do { return try SystemFile.read(path) } catch { throw SandboxError.cgroup("reading \(path): \(error)") }
    }

    /// The pids listed in a cgroup.procs file; [] if the cgroup does not exist.
    static func pids(in procsFile: String) throws -> [Int32] {
        guard SystemFile.exists(procsFile) else { return [] }
        return try read(procsFile).split(separator: "\n").compactMap { Int32($0) }
    }

    /// The value of `key` in a flat-keyed file such as memory.events ("oom_kill 3").
    static func counter(_ key: String, in path: String) throws -> Int {
        for line in try read(path).split(separator: "\n") {
            let fields = line.split(separator: " ")
            if fields.count == 2, fields[0] == key, let value = Int(fields[1]) { return value }
        }
        throw SandboxError.cgroup("no \(key) counter in \(path)")
    }

    static func makeDirectory(_ path: String) throws {
        if mkdir(path, 0o755) != 0 {
            throw SandboxError.cgroup(errno == EEXIST ? "\(path) already exists" : "mkdir \(path): \(errnoName(errno))")
        }
    }

    static func makeDirectories(_ path: String) throws {
        do { try SystemFile.makeDirectories(path, mode: 0o755) } catch { throw SandboxError.cgroup("creating \(path): \(error)") }
    }

    static func removeDirectory(_ path: String) throws {
        if rmdir(path) != 0 && errno != ENOENT { throw SandboxError.cgroup("rmdir \(path): \(errnoName(errno))") }
    }

    static func subdirectories(_ path: String) throws -> [String] {
        do { return try SystemFile.subdirectories(path) } catch { throw SandboxError.cgroup("listing \(path): \(error)") }
    }

    /// SIGKILLs each pid; a process that is already gone is not an error.
    static func kill(_ pids: [Int32]) throws -> [Int32] {
        for pid in pids where Glibc.kill(pid, SIGKILL) != 0 && errno != ESRCH {
            throw SandboxError.system(call: "kill(\(pid))", errno: errno)
        }
        return pids
    }
}

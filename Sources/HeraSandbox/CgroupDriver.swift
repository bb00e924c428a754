import Foundation
import Glibc

/// The cgroup operations Hera needs. Each sandbox has a cgroup named by its id under a
/// parent cgroup, holding the limits, and leaf cgroups below it: `init` for the sandbox's
/// init and its monitor, and one `exec-<n>` per running exec (see `execCgroupName`).
/// No process lives in the sandbox's own cgroup, as cgroup v2 requires of a cgroup whose
/// children have controllers. v1 and v2 implement it; `CgroupDetection` picks one at start-up.
public protocol CgroupDriver: Sendable {
    /// 1 or 2.
    var version: Int { get }
    /// Creates the sandbox's cgroup(s) with the limits and its `init` leaf. Any failed write
    /// removes what was created and throws: a sandbox never runs with a limit missing.
    func create(sandbox: String, limits: SandboxLimits) throws
    /// The cgroup.procs files a process writes its pid into to join the sandbox (its `init` leaf).
    func procsFiles(sandbox: String) -> [String]
    /// The sandbox's own cgroup directories, one per hierarchy (the limits live there).
    func directories(sandbox: String) -> [String]
    /// Processes anywhere in the sandbox's cgroup(s) and leaves; empty when they do not exist.
    func processes(sandbox: String) throws -> [Int32]
    /// Sends SIGKILL to every process in the sandbox once; returns the pids signalled.
    func killAll(sandbox: String) throws -> [Int32]
    /// Usage of the whole sandbox; `oomKills` counts the kills in the cgroups that still exist.
    func usage(sandbox: String) throws -> CgroupUsage
    /// Removes the sandbox's leaves and cgroup(s); those must be empty. Missing ones are fine.
    func remove(sandbox: String) throws
    /// Names of all sandbox cgroups under the parent (for crash recovery).
    func sandboxNames() throws -> [String]
    /// Removes the parent cgroup directories if they are empty (when the worker stops).
    func removeParentIfEmpty()

    /// Creates a leaf cgroup for one exec (no limits of its own; the sandbox's apply).
    func createExecCgroup(_ name: String, sandbox: String) throws
    /// The cgroup.procs files a process writes its pid into to join the exec's leaf.
    func procsFiles(execCgroup name: String, sandbox: String) -> [String]
    func processes(execCgroup name: String, sandbox: String) throws -> [Int32]
    /// Sends SIGKILL to every process in the exec's leaf once; returns the pids signalled.
    func killAll(execCgroup name: String, sandbox: String) throws -> [Int32]
    func usage(execCgroup name: String, sandbox: String) throws -> CgroupUsage
    /// Removes the exec's leaf, which must be empty; a missing one is fine.
    func removeExecCgroup(_ name: String, sandbox: String) throws
}

/// The name of the leaf cgroup of a sandbox's `number`th exec.
func execCgroupName(_ number: Int) -> String { "exec-\(number)" }

/// The name of the leaf cgroup holding the sandbox's init and monitor.
let initCgroupName = "init"

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
        guard let value = try optionalCounter(key, in: path) else { throw SandboxError.cgroup("no \(key) counter in \(path)") }
        return value
    }

    /// The value of `key` in a flat-keyed file, nil if the file or the key does not exist.
    static func optionalCounter(_ key: String, in path: String) throws -> Int? {
        guard SystemFile.exists(path) else { return nil }
        for line in try read(path).split(separator: "\n") {
            let fields = line.split(separator: " ")
            if fields.count == 2, fields[0] == key, let value = Int(fields[1]) { return value }
        }
        return nil
    }

    /// A file holding one integer (memory.peak, pids.peak); nil if the file does not exist.
    static func optionalNumber(in path: String) throws -> Int? {
        guard SystemFile.exists(path) else { return nil }
        let text = try read(path).trimmingCharacters(in: .whitespacesAndNewlines)
        guard let value = Int(text) else { throw SandboxError.cgroup("\(path) holds \"\(text)\", not a number") }
        return value
    }

    /// The cgroup.procs pids of `directory` and of every cgroup below it.
    static func pidsInTree(_ directory: String) throws -> [Int32] {
        var pids = try pids(in: directory + "/cgroup.procs")
        for child in try subdirectories(directory) { pids += try pidsInTree(directory + "/" + child) }
        return pids
    }

    /// Removes `directory` after the cgroups below it (which must be empty); missing is fine.
    static func removeTree(_ directory: String) throws {
        for child in try subdirectories(directory) { try removeTree(directory + "/" + child) }
        try removeDirectory(directory)
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

import Glibc

/// cgroup v2: one unified hierarchy mounted at `mountRoot`; sandboxes live under `parent`.
/// Layout: `<parent>/<sandbox>` holds the limits and enables memory, pids and cpu for its
/// children in cgroup.subtree_control, so by the no-internal-process rule it holds no process
/// itself: the init and monitor live in `<sandbox>/init`, each exec in `<sandbox>/exec-<n>`.
public struct CgroupV2Driver: CgroupDriver {
    public static let controllers = ["memory", "pids", "cpu"]

    public let mountRoot: String
    /// The parent cgroup, relative to the mount root (e.g. "/system.slice/hera.service/hera").
    public let parent: String
    public var version: Int { 2 }

    public func removeParentIfEmpty() { Glibc.rmdir(parentDirectory) }

    private var parentDirectory: String { mountRoot + parent }

    /// Creates the parent and enables the controllers for the sandboxes below it, in every
    /// cgroup from the mount root down to the parent. Enabling fails (EBUSY) in a cgroup that
    /// itself holds processes: the worker must then run in a leaf, or be given another parent.
    public init(mountRoot: String, parent: String) throws {
        self.mountRoot = mountRoot
        self.parent = parent.hasPrefix("/") ? parent : "/" + parent
        try CgroupFiles.makeDirectories(parentDirectory)
        var directory = mountRoot
        try enableControllers(in: directory)
        for component in self.parent.split(separator: "/") {
            directory += "/" + component
            try enableControllers(in: directory)
        }
    }

    private func enableControllers(in directory: String) throws {
        let file = directory + "/cgroup.subtree_control"
        let enabled = SystemFile.exists(file) ? try CgroupFiles.read(file).split(whereSeparator: \.isWhitespace).map(String.init) : []
        let missing = Self.controllers.filter { !enabled.contains($0) }
        if missing.isEmpty { return }
        try CgroupFiles.write(missing.map { "+" + $0 }.joined(separator: " "), to: file)
    }

    private func directory(_ sandbox: String) -> String { parentDirectory + "/" + sandbox }

    private func directory(_ leaf: String, _ sandbox: String) -> String { directory(sandbox) + "/" + leaf }

    /// cpu.weight from cpu.shares, the conversion runc and systemd use (2...262144 -> 1...10000).
    static func weight(fromShares shares: Int) -> Int {
        1 + ((shares - 2) * 9999) / 262_142
    }

    public func create(sandbox: String, limits: SandboxLimits) throws {
        let path = directory(sandbox)
        try CgroupFiles.makeDirectory(path)
        do {
            try CgroupFiles.write(String(limits.memoryMB * 1024 * 1024), to: path + "/memory.max")
            try CgroupFiles.write("0", to: path + "/memory.swap.max")
            try CgroupFiles.write(String(limits.pidsMax), to: path + "/pids.max")
            try CgroupFiles.write(String(Self.weight(fromShares: limits.cpuShares)), to: path + "/cpu.weight")
            if let cores = limits.cpuMaxCores {
                try CgroupFiles.write("\(CpuCap.quotaMicroseconds(cores: cores)) \(CpuCap.periodMicroseconds)", to: path + "/cpu.max")
            }
            try enableControllers(in: path)
            try CgroupFiles.makeDirectory(directory(initCgroupName, sandbox))
        } catch {
            try? CgroupFiles.removeDirectory(path)
            throw error
        }
    }

    public func procsFiles(sandbox: String) -> [String] { [directory(initCgroupName, sandbox) + "/cgroup.procs"] }

    public func directories(sandbox: String) -> [String] { [directory(sandbox)] }

    public func processes(sandbox: String) throws -> [Int32] {
        try CgroupFiles.pidsInTree(directory(sandbox)).sorted()
    }

    public func killAll(sandbox: String) throws -> [Int32] {
        try kill(directory(sandbox), pids: processes(sandbox: sandbox))
    }

    /// memory.events.local of the sandbox's cgroup and leaves: with the `memory_localevents`
    /// mount option memory.events would be local too, and summing it could double count.
    public func usage(sandbox: String) throws -> CgroupUsage {
        let path = directory(sandbox)
        var kills = try oomKills(path)
        for leaf in try CgroupFiles.subdirectories(path) { kills += try oomKills(path + "/" + leaf) }
        return try usage(path, oomKills: kills)
    }

    public func remove(sandbox: String) throws {
        try CgroupFiles.removeTree(directory(sandbox))
    }

    public func sandboxNames() throws -> [String] {
        try CgroupFiles.subdirectories(parentDirectory).sorted()
    }

    public func createExecCgroup(_ name: String, sandbox: String) throws {
        try CgroupFiles.makeDirectory(directory(name, sandbox))
    }

    public func procsFiles(execCgroup name: String, sandbox: String) -> [String] {
        [directory(name, sandbox) + "/cgroup.procs"]
    }

    public func processes(execCgroup name: String, sandbox: String) throws -> [Int32] {
        try CgroupFiles.pids(in: directory(name, sandbox) + "/cgroup.procs")
    }

    public func killAll(execCgroup name: String, sandbox: String) throws -> [Int32] {
        try kill(directory(name, sandbox), pids: processes(execCgroup: name, sandbox: sandbox))
    }

    public func usage(execCgroup name: String, sandbox: String) throws -> CgroupUsage {
        let path = directory(name, sandbox)
        return try usage(path, oomKills: try oomKills(path))
    }

    public func removeExecCgroup(_ name: String, sandbox: String) throws {
        try CgroupFiles.removeDirectory(directory(name, sandbox))
    }

    /// cgroup.kill (Linux 5.14+) kills the whole subtree atomically, forks included; older
    /// kernels get a kill per pid.
    private func kill(_ path: String, pids: [Int32]) throws -> [Int32] {
        let killFile = path + "/cgroup.kill"
        if SystemFile.exists(killFile) {
            try CgroupFiles.write("1", to: killFile)
            return pids
        }
        return try CgroupFiles.kill(pids)
    }

    private func oomKills(_ path: String) throws -> Int {
        try CgroupFiles.counter("oom_kill", in: path + "/memory.events.local")
    }

    /// cpu.stat is in microseconds; memory.peak (Linux 5.19+) and pids.peak (6.1+) may be missing.
    private func usage(_ path: String, oomKills: Int) throws -> CgroupUsage {
        CgroupUsage(
            cpuUserSeconds: try CgroupFiles.optionalCounter("user_usec", in: path + "/cpu.stat").map { Double($0) / 1e6 },
            cpuSystemSeconds: try CgroupFiles.optionalCounter("system_usec", in: path + "/cpu.stat").map { Double($0) / 1e6 },
            peakMemoryBytes: try CgroupFiles.optionalNumber(in: path + "/memory.peak"),
            peakPids: try CgroupFiles.optionalNumber(in: path + "/pids.peak"),
            oomKills: oomKills)
    }
}

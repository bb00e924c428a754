/// cgroup v2: one unified hierarchy mounted at `mountRoot`; sandboxes live under `parent`.
public struct CgroupV2Driver: CgroupDriver {
    public static let controllers = ["memory", "pids", "cpu"]

    public let mountRoot: String
    /// The parent cgroup, relative to the mount root (e.g. "/system.slice/hera.service/hera").
    public let parent: String
    public var version: Int { 2 }

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
        } catch {
            try? CgroupFiles.removeDirectory(path)
            throw error
        }
    }

    public func procsFiles(sandbox: String) -> [String] { [directory(sandbox) + "/cgroup.procs"] }

    public func processes(sandbox: String) throws -> [Int32] {
        try CgroupFiles.pids(in: directory(sandbox) + "/cgroup.procs")
    }

    public func oomKillCount(sandbox: String) throws -> Int {
        try CgroupFiles.counter("oom_kill", in: directory(sandbox) + "/memory.events")
    }

    /// cgroup.kill (Linux 5.14+) kills atomically, forks included; older kernels get a kill per pid.
    public func killAll(sandbox: String) throws -> [Int32] {
        let pids = try processes(sandbox: sandbox)
        let killFile = directory(sandbox) + "/cgroup.kill"
        if SystemFile.exists(killFile) {
            try CgroupFiles.write("1", to: killFile)
            return pids
        }
        return try CgroupFiles.kill(pids)
    }

    public func remove(sandbox: String) throws {
        try CgroupFiles.removeDirectory(directory(sandbox))
    }

    public func sandboxNames() throws -> [String] {
        try CgroupFiles.subdirectories(parentDirectory).sorted()
    }
}

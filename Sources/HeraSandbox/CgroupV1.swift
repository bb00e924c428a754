/// cgroup v1: one hierarchy per controller (memory, pids, cpu), each with its own parent directory.
public struct CgroupV1Driver: CgroupDriver {
    public static let controllers = ["memory", "pids", "cpu"]

    /// Controller name -> absolute path of the parent cgroup directory in that hierarchy.
    public let parents: [String: String]
    public var version: Int { 1 }

    /// Creates the parent directories if needed. `parents` must name every controller in `controllers`.
    public init(parents: [String: String]) throws {
        for controller in Self.controllers where parents[controller] == nil {
            throw SandboxError.cgroup("no \(controller) hierarchy for cgroup v1")
        }
        for controller in Self.controllers { try CgroupFiles.makeDirectories(parents[controller]!) }
        self.parents = parents
    }

    private func directory(_ controller: String, _ sandbox: String) -> String {
        parents[controller]! + "/" + sandbox
    }

    public func create(sandbox: String, limits: SandboxLimits) throws {
        var created: [String] = []
        do {
            for controller in Self.controllers {
                try CgroupFiles.makeDirectory(directory(controller, sandbox))
                created.append(directory(controller, sandbox))
            }
            let memory = directory("memory", sandbox)
            let bytes = String(limits.memoryMB * 1024 * 1024)
            try CgroupFiles.write(bytes, to: memory + "/memory.limit_in_bytes")
            // Present only with swap accounting; without it there is no swap limit to set.
            if SystemFile.exists(memory + "/memory.memsw.limit_in_bytes") {
                try CgroupFiles.write(bytes, to: memory + "/memory.memsw.limit_in_bytes")
            }
            try CgroupFiles.write(String(limits.pidsMax), to: directory("pids", sandbox) + "/pids.max")
            try CgroupFiles.write(String(limits.cpuShares), to: directory("cpu", sandbox) + "/cpu.shares")
        } catch {
            for path in created.reversed() { try? CgroupFiles.removeDirectory(path) }
            throw error
        }
    }

    public func procsFiles(sandbox: String) -> [String] {
        Self.controllers.map { directory($0, sandbox) + "/cgroup.procs" }
    }

    public func processes(sandbox: String) throws -> [Int32] {
        var pids = Set<Int32>()
        for file in procsFiles(sandbox: sandbox) { pids.formUnion(try CgroupFiles.pids(in: file)) }
        return pids.sorted()
    }

    public func oomKillCount(sandbox: String) throws -> Int {
        try CgroupFiles.counter("oom_kill", in: directory("memory", sandbox) + "/memory.oom_control")
    }

    public func killAll(sandbox: String) throws -> [Int32] {
        try CgroupFiles.kill(processes(sandbox: sandbox))
    }

    public func remove(sandbox: String) throws {
        for controller in Self.controllers { try CgroupFiles.removeDirectory(directory(controller, sandbox)) }
    }

    public func sandboxNames() throws -> [String] {
        var names = Set<String>()
        for controller in Self.controllers { names.formUnion(try CgroupFiles.subdirectories(parents[controller]!)) }
        return names.sorted()
    }
}

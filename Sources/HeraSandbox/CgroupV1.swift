import Glibc

/// cgroup v1: one hierarchy per controller (memory, pids, cpu, cpuacct), each with its own parent
/// directory; cpu and cpuacct often share one. Every hierarchy gets the same layout:
/// `<parent>/<sandbox>` (limits), `<sandbox>/init` and `<sandbox>/exec-<n>` (leaves).
public struct CgroupV1Driver: CgroupDriver {
    public static let controllers = ["memory", "pids", "cpu", "cpuacct"]

    /// Controller name -> absolute path of the parent cgroup directory in that hierarchy.
    public let parents: [String: String]
    /// The distinct parent directories, one per mounted hierarchy.
    private let hierarchyParents: [String]
    public var version: Int { 1 }

    public func removeParentIfEmpty() {
        for parent in hierarchyParents { Glibc.rmdir(parent) }
    }

    /// Creates the parent directories if needed. `parents` must name every controller in `controllers`.
    public init(parents: [String: String]) throws {
        var hierarchyParents: [String] = []
        for controller in Self.controllers {
            guard let parent = parents[controller] else { throw SandboxError.cgroup("no \(controller) hierarchy for cgroup v1") }
            if !hierarchyParents.contains(parent) { hierarchyParents.append(parent) }
        }
        for parent in hierarchyParents { try CgroupFiles.makeDirectories(parent) }
        self.parents = parents
        self.hierarchyParents = hierarchyParents
    }

    /// `relative` ("<sandbox>" or "<sandbox>/<leaf>") in the hierarchy of `controller`
    /// (one of `controllers`, all of which `init` checked).
    private func path(_ controller: String, _ relative: String) -> String {
        parents[controller]! + "/" + relative
    }

    /// `relative` in every hierarchy.
    private func everyHierarchy(_ relative: String) -> [String] {
        hierarchyParents.map { $0 + "/" + relative }
    }

    /// Makes `relative` in every hierarchy, removing what it made if one fails.
    private func makeInEveryHierarchy(_ relative: String, thenConfigure configure: () throws -> Void = {}) throws {
        var created: [String] = []
        do {
            for directory in everyHierarchy(relative) {
                try CgroupFiles.makeDirectory(directory)
                created.append(directory)
            }
            try configure()
        } catch {
            for directory in created.reversed() { try? CgroupFiles.removeDirectory(directory) }
            throw error
        }
    }

    public func create(sandbox: String, limits: SandboxLimits) throws {
        try makeInEveryHierarchy(sandbox) {
            let memory = path("memory", sandbox)
            let bytes = String(limits.memoryMB * 1024 * 1024)
            try CgroupFiles.write(bytes, to: memory + "/memory.limit_in_bytes")
            // Present only with swap accounting; without it there is no swap limit to set.
            if SystemFile.exists(memory + "/memory.memsw.limit_in_bytes") {
                try CgroupFiles.write(bytes, to: memory + "/memory.memsw.limit_in_bytes")
            }
            try CgroupFiles.write(String(limits.pidsMax), to: path("pids", sandbox) + "/pids.max")
            let cpu = path("cpu", sandbox)
            try CgroupFiles.write(String(limits.cpuShares), to: cpu + "/cpu.shares")
            if let cores = limits.cpuMaxCores {
                try CgroupFiles.write(String(CpuCap.periodMicroseconds), to: cpu + "/cpu.cfs_period_us")
                try CgroupFiles.write(String(CpuCap.quotaMicroseconds(cores: cores)), to: cpu + "/cpu.cfs_quota_us")
            }
            try makeInEveryHierarchy(sandbox + "/" + initCgroupName)
        }
    }

    public func procsFiles(sandbox: String) -> [String] {
        everyHierarchy(sandbox + "/" + initCgroupName).map { $0 + "/cgroup.procs" }
    }

    public func directories(sandbox: String) -> [String] { everyHierarchy(sandbox) }

    public func processes(sandbox: String) throws -> [Int32] {
        var pids = Set<Int32>()
        for directory in everyHierarchy(sandbox) { pids.formUnion(try CgroupFiles.pidsInTree(directory)) }
        return pids.sorted()
    }

    public func killAll(sandbox: String) throws -> [Int32] {
        try CgroupFiles.kill(processes(sandbox: sandbox))
    }

    /// v1 counts an OOM kill only in the victim's own memory cgroup, so the sandbox's
    /// count is the sum over its cgroup and leaves.
    public func usage(sandbox: String) throws -> CgroupUsage {
        let memory = path("memory", sandbox)
        var kills = try oomKills(sandbox)
        for leaf in try CgroupFiles.subdirectories(memory) { kills += try oomKills(sandbox + "/" + leaf) }
        return try usage(sandbox, oomKills: kills)
    }

    public func remove(sandbox: String) throws {
        for directory in everyHierarchy(sandbox) { try CgroupFiles.removeTree(directory) }
    }

    public func sandboxNames() throws -> [String] {
        var names = Set<String>()
        for parent in hierarchyParents { names.formUnion(try CgroupFiles.subdirectories(parent)) }
        return names.sorted()
    }

    public func createExecCgroup(_ name: String, sandbox: String) throws {
        try makeInEveryHierarchy(sandbox + "/" + name)
    }

    public func procsFiles(execCgroup name: String, sandbox: String) -> [String] {
        everyHierarchy(sandbox + "/" + name).map { $0 + "/cgroup.procs" }
    }

    public func processes(execCgroup name: String, sandbox: String) throws -> [Int32] {
        var pids = Set<Int32>()
        for file in procsFiles(execCgroup: name, sandbox: sandbox) { pids.formUnion(try CgroupFiles.pids(in: file)) }
        return pids.sorted()
    }

    public func killAll(execCgroup name: String, sandbox: String) throws -> [Int32] {
        try CgroupFiles.kill(processes(execCgroup: name, sandbox: sandbox))
    }

    public func usage(execCgroup name: String, sandbox: String) throws -> CgroupUsage {
        let relative = sandbox + "/" + name
        return try usage(relative, oomKills: try oomKills(relative))
    }

    public func removeExecCgroup(_ name: String, sandbox: String) throws {
        for directory in everyHierarchy(sandbox + "/" + name) { try CgroupFiles.removeDirectory(directory) }
    }

    private func oomKills(_ relative: String) throws -> Int {
        try CgroupFiles.counter("oom_kill", in: path("memory", relative) + "/memory.oom_control")
    }

    /// cpuacct.usage_user/usage_sys are nanoseconds; memory.max_usage_in_bytes and
    /// pids.peak (Linux 6.x) are hierarchical peaks.
    private func usage(_ relative: String, oomKills: Int) throws -> CgroupUsage {
        let cpuacct = path("cpuacct", relative)
        return CgroupUsage(
            cpuUserSeconds: try CgroupFiles.optionalNumber(in: cpuacct + "/cpuacct.usage_user").map { Double($0) / 1e9 },
            cpuSystemSeconds: try CgroupFiles.optionalNumber(in: cpuacct + "/cpuacct.usage_sys").map { Double($0) / 1e9 },
            peakMemoryBytes: try CgroupFiles.optionalNumber(in: path("memory", relative) + "/memory.max_usage_in_bytes"),
            peakPids: try CgroupFiles.optionalNumber(in: path("pids", relative) + "/pids.peak"),
            oomKills: oomKills)
    }
}

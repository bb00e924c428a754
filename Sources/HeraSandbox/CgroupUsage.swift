/// What the kernel counted for one cgroup (with everything below it). nil where this
/// kernel or cgroup version has no such counter: never a made-up 0.
public struct CgroupUsage: Sendable, Equatable {
    public var cpuUserSeconds: Double?
    public var cpuSystemSeconds: Double?
    /// The highest memory charge seen (v1 memory.max_usage_in_bytes, v2 memory.peak).
    public var peakMemoryBytes: Int?
    /// The highest number of tasks seen (pids.peak, where the kernel has it).
    public var peakPids: Int?
    /// OOM kills of processes that were in this cgroup itself, not below it (v1 counts
    /// only these; v2 reads memory.events.local), so kills are summed without double counting.
    public var oomKills: Int

    public init(cpuUserSeconds: Double?, cpuSystemSeconds: Double?, peakMemoryBytes: Int?, peakPids: Int?, oomKills: Int) {
        self.cpuUserSeconds = cpuUserSeconds
        self.cpuSystemSeconds = cpuSystemSeconds
        self.peakMemoryBytes = peakMemoryBytes
        self.peakPids = peakPids
        self.oomKills = oomKills
    }
}

/// The CFS bandwidth of an optional CPU cap (v1 cpu.cfs_quota_us / cpu.cfs_period_us, v2 cpu.max).
enum CpuCap {
    static let periodMicroseconds = 100_000
    /// The kernel refuses quotas below 1 ms.
    static let minimumQuotaMicroseconds = 1_000

    /// CPU time per period for `cores` CPUs' worth of time (0.5 = half a CPU).
    static func quotaMicroseconds(cores: Double) -> Int {
        max(minimumQuotaMicroseconds, Int((cores * Double(periodMicroseconds)).rounded()))
    }
}

import Glibc

/// A point in time on the monotonic clock, used to bound every wait of an attempt.
struct Deadline: Comparable {
    private let nanoseconds: UInt64

    /// `seconds` from now; negative or NaN means now, huge values are capped at ~30 years.
    static func after(seconds: Double) -> Deadline {
        let clamped = seconds.isNaN ? 0 : min(max(seconds, 0), 1e9)
        return Deadline(nanoseconds: monotonicNanoseconds() &+ UInt64(clamped * 1e9))
    }

    static func < (lhs: Deadline, rhs: Deadline) -> Bool { lhs.nanoseconds < rhs.nanoseconds }

    var hasPassed: Bool { monotonicNanoseconds() >= nanoseconds }

    var remainingSeconds: Double {
        let current = monotonicNanoseconds()
        return nanoseconds > current ? Double(nanoseconds - current) / 1e9 : 0
    }

    /// Milliseconds left, rounded up so a poll() never wakes before the deadline.
    var remainingMilliseconds: Int32 {
        let current = monotonicNanoseconds()
        guard nanoseconds > current else { return 0 }
        return Int32(clamping: (nanoseconds - current + 999_999) / 1_000_000)
    }
}

private func monotonicNanoseconds() -> UInt64 {
    var time = timespec()
    clock_gettime(CLOCK_MONOTONIC, &time)
    return UInt64(time.tv_sec) &* 1_000_000_000 &+ UInt64(time.tv_nsec)
}

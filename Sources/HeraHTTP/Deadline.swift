import Glibc

/// A point in time on the monotonic clock, used to bound poll() waits.
struct Deadline {
    private let nanoseconds: UInt64

    static var now: Deadline { Deadline(nanoseconds: monotonicNanoseconds()) }

    /// `seconds` from now; negative or NaN means now, huge values are capped at ~30 years.
    static func after(seconds: Double) -> Deadline {
        let clamped = seconds.isNaN ? 0 : min(max(seconds, 0), 1e9)
        return Deadline(nanoseconds: monotonicNanoseconds() &+ UInt64(clamped * 1e9))
    }

    var hasPassed: Bool { monotonicNanoseconds() >= nanoseconds }

    /// Milliseconds left, rounded up so a poll() never wakes before the deadline.
    var remainingMilliseconds: Int32 {
        let current = monotonicNanoseconds()
        guard nanoseconds > current else { return 0 }
        let milliseconds = (nanoseconds - current + 999_999) / 1_000_000
        return Int32(clamping: milliseconds)
    }
}

private func monotonicNanoseconds() -> UInt64 {
    var time = timespec()
    clock_gettime(CLOCK_MONOTONIC, &time)
    return UInt64(time.tv_sec) &* 1_000_000_000 &+ UInt64(time.tv_nsec)
}

import Foundation

/// A thread that runs `round` whenever it is woken, and every `interval` seconds anyway
/// (nil: only when woken), until stopped. Wake-ups during a round coalesce into the next one.
public final class WakeableLoop: @unchecked Sendable {
    private let name: String
    private let interval: Double?
    private let round: @Sendable () -> Void
    private let condition = NSCondition()
    private var wakeRequested = false
    private var stopping = false

    public init(name: String, interval: Double?, round: @escaping @Sendable () -> Void) {
        self.name = name
        self.interval = interval
        self.round = round
    }

    public func start() {
        let thread = Thread { [self] in run() }
        thread.name = name
        thread.start()
    }

    /// The loop ends after its current round.
    public func stop() {
        condition.lock()
        stopping = true
        condition.signal()
        condition.unlock()
    }

    public func wake() {
        condition.lock()
        wakeRequested = true
        condition.signal()
        condition.unlock()
    }

    private func run() {
        while true {
            condition.lock()
            if let interval {
                let deadline = Date(timeIntervalSinceNow: interval)
                while !wakeRequested && !stopping && Date() < deadline { _ = condition.wait(until: deadline) }
            } else {
                while !wakeRequested && !stopping { condition.wait() }
            }
            wakeRequested = false
            let done = stopping
            condition.unlock()
            if done { return }
            round()
        }
    }
}

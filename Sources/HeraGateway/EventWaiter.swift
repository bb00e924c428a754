import Foundation
import HeraDB
import HeraSupport

/// Lets request threads wait for something a node does ("exec:42 finished", "sandbox:… ended").
/// One connection LISTENs on `hera_gateway`; a waiter wakes when its key is notified, and checks
/// the database anyway every `pollInterval`, so a lost notification (or a lost connection)
/// only delays an answer.
final class EventWaiter: @unchecked Sendable {
    static let channel = "hera_gateway"
    static let pollInterval = 1.0

    private var listener: PGListener!
    private let condition = NSCondition()
    private var waiters: [String: Int] = [:]       // key → how many threads wait for it
    private var generation: [String: Int] = [:]    // key → notifications seen while someone waits
    private var stopping = false
    /// Called (on the listening thread) when capacity may have freed or a webhook became due.
    var onChange: @Sendable () -> Void = {}

    init(conninfo: String) {
        listener = PGListener(conninfo: conninfo, channel: EventWaiter.channel, onError: { error in
            Log.warn("listen connection failed; waiters fall back to polling", ["error": "\(error)"])
        }, onNotify: { [weak self] payloads in self?.notified(payloads) })
    }

    private func notified(_ payloads: [String]) {
        if payloads.contains(where: { $0 == "capacity" || $0 == "webhook" || $0.hasPrefix("sandbox:") }) { onChange() }
        condition.lock()
        for key in payloads where waiters[key] != nil { generation[key, default: 0] += 1 }
        condition.broadcast()
        condition.unlock()
    }

    /// Requests waiting right now.
    var waiting: Int {
        condition.lock()
        defer { condition.unlock() }
        return waiters.values.reduce(0, +)
    }

    func start() {
        listener.start()
    }

    func stop() {
        listener.stop()
        condition.lock()
        stopping = true
        condition.broadcast()
        condition.unlock()
    }

    /// Returns the first non-nil value of `check`, re-run on each notification of `key` and each poll,
    /// or nil when `deadline` passes first or `caller`'s client has hung up (seen at the next poll).
    func wait<T>(for key: String, until deadline: Date, caller: Caller, check: () throws -> T?) throws -> T? {
        condition.lock()
        waiters[key, default: 0] += 1
        condition.unlock()
        defer {
            condition.lock()
            waiters[key]! -= 1
            if waiters[key] == 0 {
                waiters[key] = nil
                generation[key] = nil
            }
            condition.unlock()
        }
        while true {
            condition.lock()
            let seen = generation[key, default: 0]
            condition.unlock()
            if let value = try check() { return value }
            let now = Date()
            if now >= deadline || isStopping || !caller.isConnected() { return nil }
            let wakeAt = min(deadline, now.addingTimeInterval(EventWaiter.pollInterval))
            condition.lock()
            while generation[key, default: 0] == seen && !stopping && Date() < wakeAt {
                _ = condition.wait(until: wakeAt)
            }
            condition.unlock()
        }
    }

    private var isStopping: Bool {
        condition.lock()
        defer { condition.unlock() }
        return stopping
    }
}

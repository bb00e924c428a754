import Foundation
import HeraDB
import HeraSupport

/// Wakes nodes that have new work, outside the reservation transaction: a NOTIFY inside it would
/// take PostgreSQL's global notify lock on every commit. Requests to wake the same node while a
/// NOTIFY is being sent are coalesced into the next one. Nodes poll too, so a lost wake-up only delays.
final class NodeWaker: @unchecked Sendable {
    private let pool: PGPool
    private let condition = NSCondition()
    private var pending: Set<Int> = []
    private var stopping = false

    init(pool: PGPool) { self.pool = pool }

    func start() {
        let thread = Thread { [self] in run() }
        thread.name = "hera-wake"
        thread.start()
    }

    func stop() {
        condition.lock()
        stopping = true
        condition.signal()
        condition.unlock()
    }

    func wake(node: Int) {
        condition.lock()
        pending.insert(node)
        condition.signal()
        condition.unlock()
    }

    private func run() {
        while true {
            condition.lock()
            while pending.isEmpty && !stopping { condition.wait() }
            if stopping { condition.unlock(); return }
            let nodes = pending
            pending.removeAll()
            condition.unlock()
            let list = "{" + nodes.map(String.init).joined(separator: ",") + "}"
            do {
                try pool.query("SELECT pg_notify('hera_node_' || n, '') FROM unnest($1::bigint[]) AS n", [list])
            } catch {
                Log.warn("could not wake nodes; they will find the work by polling", ["error": "\(error)"])
            }
        }
    }
}

import Foundation
import HeraDB
import HeraSupport

/// Wakes nodes that have new work, outside the reservation transaction: a NOTIFY inside it would
/// take PostgreSQL's global notify lock on every commit. Requests to wake the same node while a
/// NOTIFY is being sent are coalesced into the next one. Nodes poll too, so a lost wake-up only delays.
final class NodeWaker: @unchecked Sendable {
    private let pool: PGPool
    private let lock = NSLock()
    private var pending: Set<Int> = []
    private var loop: WakeableLoop!

    init(pool: PGPool) {
        self.pool = pool
        loop = WakeableLoop(name: "hera-wake", interval: nil) { [weak self] in self?.notifyPending() }
    }

    func start() { loop.start() }

    func stop() { loop.stop() }

    func wake(node: Int) {
        lock.withLock { _ = pending.insert(node) }
        loop.wake()
    }

    private func notifyPending() {
        let nodes = lock.withLock {
            defer { pending.removeAll() }
            return pending
        }
        guard !nodes.isEmpty else { return }
        let list = "{" + nodes.map(String.init).joined(separator: ",") + "}"
        do {
            try pool.query("SELECT pg_notify('hera_node_' || n, '') FROM unnest($1::bigint[]) AS n", [list])
        } catch {
            Log.warn("could not wake nodes; they will find the work by polling", ["error": "\(error)"])
        }
    }
}

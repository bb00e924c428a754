import Foundation
import HeraDB
import HeraSupport

/// The work any gateway replica does besides answering requests, with no leader: assigning
/// queued sandboxes when capacity frees (woken by the database's notifications, and every
/// second anyway), declaring silent nodes lost, and delivering webhooks. Every step is one
/// stored function that uses SKIP LOCKED, so replicas share the work and never repeat it.
final class BackgroundDuties: @unchecked Sendable {
    static let sweepInterval = 1.0
    static let lostNodeSweepInterval = 5.0
    /// Nodes cannot heartbeat while PostgreSQL is unreachable: after this replica could not
    /// reach it (or just started), it declares no node lost until it has reached it without a
    /// break for this long — node_heartbeat_bound() — so an outage never ends healthy sandboxes.
    static let sweepAfterReconnectSeconds = 15.0
    static let queueBatch = 64

    private let pool: PGPool
    private let config: GatewayConfig
    private let waker: NodeWaker
    private let webhooks: WebhookSender
    private var loop: WakeableLoop!
    private var lastLostSweep = Date.distantPast   // only the loop's thread touches these two
    /// Since when this gateway has reached PostgreSQL without a break (see sweepAfterReconnectSeconds).
    private var reachableSince = Date()

    init(pool: PGPool, config: GatewayConfig, waker: NodeWaker, metrics: GatewayMetrics) {
        self.pool = pool
        self.config = config
        self.waker = waker
        webhooks = WebhookSender(pool: pool, allowPrivateAddresses: config.webhookAllowPrivate, metrics: metrics)
        loop = WakeableLoop(name: "hera-duties", interval: BackgroundDuties.sweepInterval) { [weak self] in self?.runRound() }
    }

    func start() { loop.start() }

    func stop() {
        loop.stop()
        webhooks.stop()
    }

    /// Something changed (capacity freed, a node joined, a webhook is due): run a round now.
    func wake() { loop.wake() }

    private func runRound() {
        do {
            if -lastLostSweep.timeIntervalSinceNow >= BackgroundDuties.lostNodeSweepInterval,
               -reachableSince.timeIntervalSinceNow >= BackgroundDuties.sweepAfterReconnectSeconds {
                let ended = try pool.query("SELECT node_sweep_lost() AS n").first?.int("n") ?? 0
                if ended > 0 { Log.warn("declared sandboxes lost: their node stopped heart-beating", ["sandboxes": ended]) }
                lastLostSweep = Date()
            }
            try assignQueued()
            webhooks.sendDue()
        } catch {
            if let error = error as? PGError, error.isConnectionFailure { reachableSince = Date() }
            Log.warn("background round failed; retrying", ["error": "\(error)"])
        }
    }

    private func assignQueued() throws {
        while true {
            let assigned = try pool.query("SELECT sandbox_id, node_id FROM queue_assign($1, $2)",
                                          [String(config.queueBackfillLimitSeconds), String(BackgroundDuties.queueBatch)]).rows
            for node in Set(assigned.compactMap { $0.int("node_id") }) { waker.wake(node: node) }
            if assigned.count < BackgroundDuties.queueBatch { return }
        }
    }
}

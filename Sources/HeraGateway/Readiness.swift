import Foundation

/// Where a replica is in its life, for `GET /readyz`: a load balancer sends traffic only to a
/// `serving` replica. `draining` starts at SIGTERM and lasts the drain period, long enough for
/// the balancer's health checks to take the replica out before it stops accepting.
final class Readiness: @unchecked Sendable {
    enum Phase: String { case starting, serving, draining }

    private let lock = NSLock()
    private var current = Phase.starting

    var phase: Phase {
        get { lock.withLock { current } }
        set { lock.withLock { current = newValue } }
    }
}

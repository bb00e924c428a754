import Foundation
import HeraDB
import HeraSupport

/// What a gateway replica counts, served by `GET /metrics` (no credentials, like /healthz).
/// Counters and histograms are this replica's since it started; the queue and sandbox gauges are
/// the whole cluster's, read from PostgreSQL at scrape time on a connection of their own with a
/// short bound, so a slow or absent database never holds a scrape for long.
final class GatewayMetrics: @unchecked Sendable {
    /// The scrape's own database work: at most this long to connect-or-borrow and to answer.
    static let scrapeQueryTimeoutSeconds = 2.0

    let registry = Metrics()
    private let scrapePool: PGPool

    init(databaseURL: String) {
        scrapePool = PGPool(conninfo: databaseURL, size: 1, checkoutTimeout: GatewayMetrics.scrapeQueryTimeoutSeconds,
                            queryTimeout: GatewayMetrics.scrapeQueryTimeoutSeconds)
        registry.counter("hera_http_requests_total", help: "Requests answered, by route pattern and HTTP status.")
        registry.histogram("hera_http_request_duration_seconds", help: "Time to answer a request, by route pattern.")
        registry.counter("hera_reservations_total",
                         help: "Sandbox creations by outcome: ok, or the error status (ResourceNotAvailable, QueueFull, ...).")
        registry.counter("hera_webhook_deliveries_total", help: "Webhook attempts by outcome: delivered, retryable, permanent.")
        registry.gauge("hera_db_pool_connections_in_use", help: "Database connections borrowed from this replica's pool.")
        registry.gauge("hera_db_pool_waiting", help: "Requests waiting for a database connection.")
        registry.gauge("hera_db_up", help: "1 when the scrape could read the cluster state from PostgreSQL, else 0.")
        registry.gauge("hera_sandboxes", help: "Sandboxes not finished, by state (cluster-wide).")
        registry.gauge("hera_queue_depth", help: "Queued (async) sandboxes waiting for capacity (cluster-wide).")
        registry.gauge("hera_ready", help: "1 while this replica answers /readyz with 200 (not starting, not draining).")
    }

    func requestAnswered(route: String, status: Int, seconds: Double) {
        registry.increment("hera_http_requests_total", [("route", route), ("status", String(status))])
        registry.observe("hera_http_request_duration_seconds", [("route", route)], seconds)
    }

    func reservation(outcome: String) {
        registry.increment("hera_reservations_total", [("outcome", outcome)])
    }

    func webhookAttempt(outcome: String) {
        registry.increment("hera_webhook_deliveries_total", [("outcome", outcome)])
    }

    /// Refreshes the gauges and renders everything.
    func scrape(pool: PGPool, ready: Bool) -> String {
        let usage = pool.usage
        registry.set("hera_db_pool_connections_in_use", to: Double(usage.inUse))
        registry.set("hera_db_pool_waiting", to: Double(usage.waiting))
        registry.set("hera_ready", to: ready ? 1 : 0)
        registry.reset("hera_sandboxes")
        do {
            // Each state has a partial index; finished sandboxes are left to the reporting views.
            let rows = try scrapePool.query("""
                SELECT s.state, count(sandboxes.id)::bigint AS n FROM (VALUES ('queued'), ('assigned'), ('running')) AS s(state)
                LEFT JOIN sandboxes ON sandboxes.state = s.state GROUP BY s.state
                """).rows
            for row in rows {
                let state = row["state"] ?? "", count = Double(row.int("n") ?? 0)
                registry.set("hera_sandboxes", [("state", state)], to: count)
                if state == "queued" { registry.set("hera_queue_depth", to: count) }
            }
            registry.set("hera_db_up", to: 1)
        } catch {
            registry.set("hera_db_up", to: 0)
        }
        return registry.render()
    }
}

import Foundation
import HeraDB
import HeraSupport
import HeraWebhook

/// Delivers the webhook outbox: claims due deliveries for a lease, sends each attempt on its
/// own thread (at most `maxInFlight` at once), and records the outcome. At least once: a
/// replica that dies mid-attempt lets the lease expire and another replica sends it again,
/// with the same delivery id, so receivers can drop duplicates.
final class WebhookSender: @unchecked Sendable {
    static let maxInFlight = 8
    static let maxAttempts = 8
    static let maxBackoffSeconds = 300.0

    private let pool: PGPool
    private let client: WebhookClient
    private let metrics: GatewayMetrics
    private let lock = NSLock()
    private var inFlight = 0
    private var stopping = false

    init(pool: PGPool, allowPrivateAddresses: Bool, metrics: GatewayMetrics) {
        self.pool = pool
        self.metrics = metrics
        var policy = WebhookPolicy()
        policy.allowPrivateAddresses = allowPrivateAddresses
        client = WebhookClient(policy: policy)
    }

    /// A lease outlasts an attempt: the attempt's own deadline plus a margin.
    private var leaseSeconds: Double { client.policy.totalTimeout + 15 }

    func stop() {
        lock.withLock { stopping = true }
    }

    /// Claims what is due (up to the free in-flight slots) and starts sending it.
    func sendDue() {
        let free = lock.withLock { stopping ? 0 : WebhookSender.maxInFlight - inFlight }
        guard free > 0 else { return }
        let claimed: [PGRow]
        do {
            claimed = try pool.query("SELECT id, url, body, attempts, secret FROM webhook_claim($1, $2)",
                                     [String(leaseSeconds), String(free)]).rows
        } catch {
            Log.warn("could not claim webhook deliveries", ["error": "\(error)"])
            return
        }
        for row in claimed {
            guard let id = row["id"], let url = row["url"], let body = row["body"], let attempt = row.int("attempts") else { continue }
            lock.withLock { inFlight += 1 }
            Thread { [self] in
                deliver(id: id, url: url, body: Array(body.utf8), attempt: attempt, secret: row["secret"] ?? "")
                lock.withLock { inFlight -= 1 }
            }.start()
        }
    }

    private func deliver(id: String, url: String, body: [UInt8], attempt: Int, secret: String) {
        let headers = WebhookSignature.headers(deliveryID: id, timestamp: Int(Date().timeIntervalSince1970),
                                               body: body, secret: secret)
        let outcome = client.deliver(WebhookRequest(url: url, body: body, headers: headers))
        let (name, error): (String, String?) = switch outcome {
        case .delivered: ("delivered", nil)
        case .retryable(let reason): ("retryable", reason)
        case .permanent(let reason): ("permanent", reason)
        }
        // The URL is the client's; the body holds the secret, so only the delivery id is logged.
        Log.info("webhook attempt", ["delivery": id, "attempt": attempt, "outcome": name])
        metrics.webhookAttempt(outcome: name)
        do {
            try pool.query("SELECT webhook_result($1, $2, $3, $4, $5, $6)",
                           [id, String(attempt), name, error, String(WebhookSender.maxAttempts),
                            String(WebhookSender.maxBackoffSeconds)])
        } catch {
            Log.warn("could not record a webhook attempt; its lease will expire and it is sent again",
                     ["delivery": id, "error": "\(error)"])
        }
    }
}

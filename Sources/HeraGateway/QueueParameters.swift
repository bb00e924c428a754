import Foundation
import HeraWebhook

/// The async-mode parameters of a create: whether to queue, in what order, for how long, and
/// whom to tell. Validated here; the reservation function applies them.
struct QueueParameters {
    static let maxPriority = 1_000_000
    static let maxWebhookSecretBytes = 256

    let async: Bool
    let priority: Int
    let priorityGrowth: Double
    let queueTimeout: Int?
    let webhookURL: String?
    let webhookSecret: String?

    init(_ parameters: Parameters, config: GatewayConfig) throws {
        async = try parameters.bool("async", default: false)
        priority = try parameters.integer("priority", in: -QueueParameters.maxPriority...QueueParameters.maxPriority,
                                          what: "lower is served first") ?? 0
        if let text = parameters["priority_growth"] {
            guard let growth = Double(text), growth.isFinite, (0...1_000_000).contains(growth) else {
                throw APIError.malformed("priority_growth must be a number from 0 to 1000000 (priority points per second waited)")
            }
            priorityGrowth = growth
        } else {
            priorityGrowth = 0
        }
        queueTimeout = try parameters.integer("queue_timeout", in: 1...config.maxTimeoutSeconds, what: "seconds to wait in the queue")
        webhookSecret = parameters["webhook_secret"]
        if let secret = webhookSecret, secret.utf8.count > QueueParameters.maxWebhookSecretBytes {
            throw APIError.malformed("webhook_secret is longer than \(QueueParameters.maxWebhookSecretBytes) bytes")
        }
        if let url = parameters["webhook_url"], !url.isEmpty {
            // The same parser the delivery uses; where it points is checked when it is delivered.
            do {
                _ = try WebhookURL(parsing: url)
            } catch {
                throw APIError.malformed("webhook_url: \(error)")
            }
            webhookURL = url
        } else {
            webhookURL = nil
        }
    }
}

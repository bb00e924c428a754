import Foundation
import HeraHTTP
@testable import HeraWebhook

/// The requests an `HTTPServer` receiver saw.
final class RequestLog: @unchecked Sendable {
    private let lock = NSLock()
    private var requests: [HTTPRequest] = []

    func record(_ request: HTTPRequest) { lock.withLock { requests.append(request) } }
    var all: [HTTPRequest] { lock.withLock { requests } }
}

/// A client for loopback receivers: private addresses allowed, short timeouts.
func loopbackClient(totalTimeout: Double = 3, maxResponseBytes: Int = 64 << 10, caFile: String? = nil) -> WebhookClient {
    WebhookClient(policy: WebhookPolicy(connectTimeout: 2, totalTimeout: totalTimeout, maxResponseBytes: maxResponseBytes,
                                        allowPrivateAddresses: true, caFile: caFile))
}

/// Seconds `body` took, with its result.
func timed<Result>(_ body: () -> Result) -> (Result, Double) {
    let start = Date()
    let result = body()
    return (result, Date().timeIntervalSince(start))
}

extension WebhookOutcome {
    var isRetryable: Bool { if case .retryable = self { return true } else { return false } }
    var isPermanent: Bool { if case .permanent = self { return true } else { return false } }

    var reason: String {
        switch self {
        case .delivered(let status): return "delivered \(status)"
        case .retryable(let reason), .permanent(let reason): return reason
        }
    }
}

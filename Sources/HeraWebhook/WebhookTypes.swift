/// One webhook to deliver: a form-encoded POST to a client-given URL.
public struct WebhookRequest: Sendable {
    public var url: String
    /// The `application/x-www-form-urlencoded` body.
    public var body: [UInt8]
    /// Extra header fields (e.g. `WebhookSignature.headers`). Names must be tokens, values free
    /// of control characters, and the fields the client sets itself (Host, Content-Type,
    /// Content-Length, Connection, Transfer-Encoding, User-Agent) may not be given.
    public var headers: [(String, String)]

    public init(url: String, body: [UInt8], headers: [(String, String)] = []) {
        self.url = url
        self.body = body
        self.headers = headers
    }
}

/// How one delivery attempt ended; the caller's outbox decides what to do next.
public enum WebhookOutcome: Sendable, Equatable {
    /// The receiver answered 2xx.
    case delivered(status: Int)
    /// Worth trying again later: 5xx, 408, 429, timeouts, DNS, connection and TLS failures.
    /// TLS certificate failures (unknown CA, wrong host name, expired) are retryable too: the
    /// request is never sent over such a connection, so retrying leaks nothing, and they are
    /// usually operational slips the receiver fixes (a missed renewal, a load balancer serving
    /// the wrong certificate during a deploy); the outbox's attempt limit bounds the cost.
    case retryable(reason: String)
    /// Trying again cannot help: a bad URL or header, an address refused by the SSRF guard,
    /// 3xx (redirects are not followed), other 4xx, or a status outside 2xx–5xx.
    case permanent(reason: String)
}

/// Operator-level settings for delivery attempts.
public struct WebhookPolicy: Sendable {
    /// Seconds allowed for each TCP connect (also bounded by `totalTimeout`).
    public var connectTimeout: Double = 5
    /// Seconds for the whole attempt: resolution, connects, TLS handshake, request and response.
    public var totalTimeout: Double = 15
    /// At most this many response bytes are read; the status line must arrive within them.
    public var maxResponseBytes: Int = 64 << 10
    /// Whether loopback, private and other non-public addresses may be contacted (see `AddressPolicy`).
    public var allowPrivateAddresses: Bool = false
    /// A PEM bundle of CA certificates trusted in addition to the system store.
    public var caFile: String? = nil

    public init(connectTimeout: Double = 5, totalTimeout: Double = 15, maxResponseBytes: Int = 64 << 10,
                allowPrivateAddresses: Bool = false, caFile: String? = nil) {
        self.connectTimeout = connectTimeout
        self.totalTimeout = totalTimeout
        self.maxResponseBytes = maxResponseBytes
        self.allowPrivateAddresses = allowPrivateAddresses
        self.caFile = caFile
    }
}

/// Why an attempt stopped early, already classified; thrown inside the module, returned as an outcome.
enum DeliveryFailure: Error {
    case retryable(String)
    case permanent(String)

    var outcome: WebhookOutcome {
        switch self {
        case .retryable(let reason): return .retryable(reason: reason)
        case .permanent(let reason): return .permanent(reason: reason)
        }
    }
}

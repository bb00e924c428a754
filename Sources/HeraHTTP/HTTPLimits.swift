/// Resource bounds the parser and server enforce on each connection.
public struct HTTPLimits: Sendable {
    /// Maximum bytes of request line plus headers (also bounds chunked trailers); beyond → 431.
    public var maxHeadBytes: Int
    /// Maximum decoded body bytes; beyond → 413.
    public var maxBodyBytes: Int
    /// Seconds to receive a complete head once its first byte arrived (slow-loris guard).
    /// Also bounds the wait for the first byte on a fresh connection.
    public var headTimeout: Double
    /// Seconds to receive the body once the head is complete.
    public var bodyTimeout: Double
    /// Seconds a keep-alive connection may sit idle between requests.
    public var idleTimeout: Double
    /// Seconds to deliver one response (or interim/error response) to a slow reader.
    public var writeTimeout: Double
    /// Concurrent connections; beyond that new connections get 503 and are closed.
    public var maxConnections: Int

    public init(
        maxHeadBytes: Int = 16 * 1024,
        maxBodyBytes: Int = 8 * 1024 * 1024,
        headTimeout: Double = 10,
        bodyTimeout: Double = 30,
        idleTimeout: Double = 60,
        writeTimeout: Double = 30,
        maxConnections: Int = 1024
    ) {
        self.maxHeadBytes = maxHeadBytes
        self.maxBodyBytes = maxBodyBytes
        self.headTimeout = headTimeout
        self.bodyTimeout = bodyTimeout
        self.idleTimeout = idleTimeout
        self.writeTimeout = writeTimeout
        self.maxConnections = maxConnections
    }
}

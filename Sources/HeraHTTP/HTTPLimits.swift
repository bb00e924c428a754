/// Resource bounds the parser and server enforce on each connection.
///
/// Every violation is answered with one JSON error response carrying "Connection: close", after
/// which the connection is closed; a pipelined request behind the offending one is never read.
/// Fixed rules that are not configurable (answered with 400 unless noted):
/// - `Content-Length` together with `Transfer-Encoding`, or in an HTTP/1.0 request `Transfer-Encoding`.
/// - `Content-Length` elements that are not 1 to 19 ASCII digits (`+5`, `-1`, `0x5`, `5 5`, "",
///   20 digits). Repeats that agree (`5, 5`, two `Content-Length: 5` lines, `05`) are accepted,
///   as RFC 9110 §8.6 allows: every reading yields the same length. Repeats that differ → 400.
/// - Transfer codings other than exactly one `chunked` → 501 (unknown coding) or 400.
/// - A chunk-size that is not hex digits followed by well-formed `;name[=value]` extensions, that
///   does not fit in an `Int`, or whose line exceeds 4 KiB; chunk data not followed by CRLF.
/// - Any line ending in a bare LF (RFC 9112 §2.2 lets servers reject it; accepting it invites smuggling).
public struct HTTPLimits: Sendable {
    /// Maximum bytes of the request line, excluding its CRLF; beyond → 414 URI Too Long.
    /// Default 8 KiB. When the rest of the `maxHeadBytes` budget is smaller, that bound (431) applies first.
    public var maxRequestLineBytes: Int
    /// Maximum bytes of request line plus header lines, each counted with its CRLF, plus the empty
    /// line ending the head; beyond → 431 Request Header Fields Too Large. Default 16 KiB.
    /// The same budget bounds the trailer section of a chunked body separately.
    public var maxHeadBytes: Int
    /// Maximum number of header field lines in a head (and, separately, of trailer fields);
    /// one more → 431 Request Header Fields Too Large. Default 100.
    public var maxHeaderCount: Int
    /// Maximum decoded body bytes; a larger `Content-Length` or chunk total → 413 Content Too Large.
    /// Default 8 MiB.
    public var maxBodyBytes: Int
    /// Seconds to receive a complete head → else 408 Request Timeout. Default 10 s. On a fresh
    /// connection the clock starts at accept (a silent one is closed without a response); on a
    /// keep-alive connection it starts with the first byte after the idle wait. This is the
    /// slow-loris guard: trickling bytes does not extend it.
    public var headTimeout: Double
    /// Seconds to receive the whole body once the head is complete → else 408. Default 30 s.
    public var bodyTimeout: Double
    /// Seconds a keep-alive connection may sit idle between requests; then it is closed silently.
    /// Default 60 s.
    public var idleTimeout: Double
    /// Seconds to deliver one response (or interim/error response) to a slow reader; then the
    /// connection is cut off. Default 30 s.
    public var writeTimeout: Double
    /// Concurrent connections (one thread each); beyond that new connections get 503 Service
    /// Unavailable and are closed. Default 1024.
    public var maxConnections: Int

    public init(
        maxHeadBytes: Int = 16 * 1024,
        maxBodyBytes: Int = 8 * 1024 * 1024,
        headTimeout: Double = 10,
        bodyTimeout: Double = 30,
        idleTimeout: Double = 60,
        writeTimeout: Double = 30,
        maxConnections: Int = 1024,
        maxRequestLineBytes: Int = 8 * 1024,
        maxHeaderCount: Int = 100
    ) {
        self.maxRequestLineBytes = maxRequestLineBytes
        self.maxHeadBytes = maxHeadBytes
        self.maxHeaderCount = maxHeaderCount
        self.maxBodyBytes = maxBodyBytes
        self.headTimeout = headTimeout
        self.bodyTimeout = bodyTimeout
        self.idleTimeout = idleTimeout
        self.writeTimeout = writeTimeout
        self.maxConnections = maxConnections
    }
}

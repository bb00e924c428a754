/// A parsed HTTP request as handed to the server's handler.
public struct HTTPRequest: Sendable {
    /// The request method, e.g. "GET" (case-sensitive, as sent).
    public var method: String
    /// The raw request-target, e.g. "/sandbox/abc?x=1".
    public var target: String
    /// The target without its query string (not percent-decoded).
    public var path: String
    /// The raw query string after '?', or "" if there is none.
    public var query: String
    public var headers: HTTPHeaders
    public var body: [UInt8]
    /// Whether the client allows the connection to be reused after this request.
    public var keepAlive: Bool
    /// The peer as "ip:port" ("[ip]:port" for IPv6), filled in by the server.
    public var remoteAddress: String
    /// While the handler runs: false once the client has hung up, so a long wait can give up.
    public var isClientConnected: @Sendable () -> Bool = { true }

    /// Builds a request; `path` and `query` are derived from `target`.
    public init(
        method: String, target: String, headers: HTTPHeaders = HTTPHeaders(), body: [UInt8] = [],
        keepAlive: Bool = true, remoteAddress: String = ""
    ) {
        self.method = method
        self.target = target
        (self.path, self.query) = splitTarget(target)
        self.headers = headers
        self.body = body
        self.keepAlive = keepAlive
        self.remoteAddress = remoteAddress
    }
}

/// Splits a request-target into path and query. For absolute-form ("http://host/p?q")
/// the scheme and authority are dropped; an empty path becomes "/".
func splitTarget(_ target: String) -> (path: String, query: String) {
    var pathAndQuery = Substring(target)
    if !target.hasPrefix("/"), let schemeEnd = target.firstRange(of: "://") {
        let afterAuthority = target[schemeEnd.upperBound...]
        let pathStart = afterAuthority.firstIndex { $0 == "/" || $0 == "?" } ?? afterAuthority.endIndex
        pathAndQuery = afterAuthority[pathStart...]
    }
    guard let questionMark = pathAndQuery.firstIndex(of: "?") else {
        return (pathAndQuery.isEmpty ? "/" : String(pathAndQuery), "")
    }
    let path = pathAndQuery[..<questionMark]
    return (path.isEmpty ? "/" : String(path), String(pathAndQuery[pathAndQuery.index(after: questionMark)...]))
}

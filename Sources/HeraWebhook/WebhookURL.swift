/// A webhook URL that passed validation: `http` or `https`, a host, an optional port and a
/// path with optional query. The gateway can use it to reject bad URLs at registration time.
///
/// Rules: at most 2048 bytes; only printable ASCII (no spaces or control characters; IDNs must
/// be given in punycode and other bytes percent-encoded); no userinfo (`user@`); the fragment
/// is dropped; the host is a DNS name, a dotted IPv4 address, or a bracketed IPv6 address
/// without a zone; the port is 1–65535.
public struct WebhookURL: Sendable, Equatable {
    public enum Scheme: String, Sendable { case http, https }

    public enum HostKind: Sendable { case name, ipv4, ipv6 }

    public static let maxLength = 2048

    public let scheme: Scheme
    /// The host in lower case, IPv6 without brackets.
    public let host: String
    public let hostKind: HostKind
    public let port: Int
    /// Path and query as sent in the request line; at least "/".
    public let target: String

    public init(parsing text: String) throws(WebhookURLError) {
        let bytes = Array(text.utf8)
        guard bytes.count <= Self.maxLength else { throw WebhookURLError("longer than \(Self.maxLength) bytes") }
        guard bytes.allSatisfy({ (0x21...0x7E).contains($0) }) else {
            throw WebhookURLError("contains spaces, control characters or non-ASCII bytes")
        }
        let withoutFragment = bytes.prefix { $0 != UInt8(ascii: "#") }
        let text = String(decoding: withoutFragment, as: UTF8.self)

        guard let schemeEnd = text.firstRange(of: "://") else { throw WebhookURLError("missing scheme") }
        guard let scheme = Scheme(rawValue: text[..<schemeEnd.lowerBound].lowercased()) else {
            throw WebhookURLError("scheme must be http or https")
        }
        let afterScheme = text[schemeEnd.upperBound...]
        let authorityEnd = afterScheme.firstIndex { $0 == "/" || $0 == "?" } ?? afterScheme.endIndex
        let authority = afterScheme[..<authorityEnd]
        let pathAndQuery = afterScheme[authorityEnd...]
        guard !authority.contains("@") else { throw WebhookURLError("userinfo is not allowed") }

        let (host, hostKind, port) = try Self.parseAuthority(authority, defaultPort: scheme == .https ? 443 : 80)
        self.scheme = scheme
        self.host = host
        self.hostKind = hostKind
        self.port = port
        self.target = pathAndQuery.hasPrefix("/") ? String(pathAndQuery) : "/" + pathAndQuery
    }

    /// The Host header value: the port is included only when it is not the scheme's default.
    var hostHeader: String {
        let name = hostKind == .ipv6 ? "[\(host)]" : host
        let defaultPort = scheme == .https ? 443 : 80
        return port == defaultPort ? name : "\(name):\(port)"
    }

    private static func parseAuthority(_ authority: Substring, defaultPort: Int)
        throws(WebhookURLError) -> (String, HostKind, Int)
    {
        let hostPart: Substring
        let portPart: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { throw WebhookURLError("unterminated IPv6 address") }
            hostPart = authority[authority.index(after: authority.startIndex)..<close]
            let rest = authority[authority.index(after: close)...]
            guard rest.isEmpty || rest.hasPrefix(":") else { throw WebhookURLError("junk after IPv6 address") }
            portPart = rest.isEmpty ? nil : rest.dropFirst()
            guard case .v6? = IPAddress(String(hostPart)) else { throw WebhookURLError("invalid IPv6 address") }
        } else {
            let pieces = authority.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
            hostPart = pieces[0]
            portPart = pieces.count > 1 ? pieces[1] : nil
        }
        let port = try portPart.map { (text) throws(WebhookURLError) in try parsePort(text) } ?? defaultPort
        let host = hostPart.lowercased()
        if authority.hasPrefix("[") { return (host, .ipv6, port) }
        if case .v4? = IPAddress(host) { return (host, .ipv4, port) }
        guard isDNSName(host) else { throw WebhookURLError("invalid host name") }
        return (host, .name, port)
    }

    private static func parsePort(_ text: Substring) throws(WebhookURLError) -> Int {
        guard (1...5).contains(text.count), text.allSatisfy(\.isASCII), text.allSatisfy(\.isNumber),
              let port = Int(text), (1...65535).contains(port) else { throw WebhookURLError("invalid port") }
        return port
    }

    /// Letters, digits, '-' and '_' in dot-separated labels of 1–63 bytes; a trailing dot is allowed.
    private static func isDNSName(_ name: String) -> Bool {
        let trimmed = name.hasSuffix(".") ? name.dropLast() : Substring(name)
        guard !trimmed.isEmpty, trimmed.utf8.count <= 253 else { return false }
        return trimmed.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { label in
            (1...63).contains(label.utf8.count) && label.utf8.allSatisfy { byte in
                (byte >= 0x61 && byte <= 0x7A) || (byte >= 0x30 && byte <= 0x39)
                    || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_")
            }
        }
    }
}

/// Why a webhook URL was rejected.
public struct WebhookURLError: Error, Sendable, Equatable, CustomStringConvertible {
    public let reason: String

    init(_ reason: String) { self.reason = reason }

    public var description: String { "bad URL: \(reason)" }
}

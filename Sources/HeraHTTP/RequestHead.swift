/// Parsing and validation of the request line and header fields (RFC 9112 §3, §5, §6).

enum HTTPVersion {
    case http10, http11
}

/// How the request body is delimited (RFC 9112 §6.3).
enum BodyFraming: Equatable {
    case none
    case length(Int)
    case chunked
}

struct RequestLine {
    var method: String
    var target: String
    var version: HTTPVersion

    /// Parses `METHOD SP request-target SP HTTP-version` (without the CRLF).
    init(parsing line: ArraySlice<UInt8>) throws(HTTPParseError) {
        let parts = line.split(separator: space, omittingEmptySubsequences: false)
        guard parts.count == 3, parts.allSatisfy({ !$0.isEmpty }) else {
            throw .badRequest("malformed request line")
        }
        guard parts[0].allSatisfy(isTokenByte) else { throw .badRequest("invalid method") }
        guard parts[1].allSatisfy({ $0 > space && $0 < 0x7F }) else {
            throw .badRequest("invalid character in request target")
        }
        version = try Self.parseVersion(parts[2])
        method = String(decoding: parts[0], as: UTF8.self)
        target = String(decoding: parts[1], as: UTF8.self)
        try validateTargetForm()
    }

    private static func parseVersion(_ bytes: ArraySlice<UInt8>) throws(HTTPParseError) -> HTTPVersion {
        let text = Array(bytes)
        guard text.count == 8, text.starts(with: Array("HTTP/".utf8)), isDigit(text[5]),
            text[6] == UInt8(ascii: "."), isDigit(text[7])
        else { throw .badRequest("malformed HTTP version") }
        switch (text[5], text[7]) {
        case (UInt8(ascii: "1"), UInt8(ascii: "1")): return .http11
        case (UInt8(ascii: "1"), UInt8(ascii: "0")): return .http10
        default: throw .versionNotSupported
        }
    }

    /// Accepts origin-form, absolute-form (http/https) and, for OPTIONS only, asterisk-form.
    private func validateTargetForm() throws(HTTPParseError) {
        if target.hasPrefix("/") { return }
        if target == "*" {
            guard method == "OPTIONS" else { throw .badRequest("asterisk-form target is only allowed for OPTIONS") }
            return
        }
        let lowercased = target.lowercased()
        for scheme in ["http://", "https://"] where lowercased.hasPrefix(scheme) {
            let authority = lowercased.dropFirst(scheme.count).prefix { $0 != "/" && $0 != "?" }
            guard !authority.isEmpty else { throw .badRequest("absolute-form target without authority") }
            return
        }
        throw .badRequest("unsupported request-target form")
    }
}

/// Parses one `name: value` field line (without the CRLF); the value is trimmed of OWS.
func parseFieldLine(_ line: ArraySlice<UInt8>) throws(HTTPParseError) -> (name: String, value: String) {
    guard let first = line.first, !isOptionalWhitespace(first) else {
        throw .badRequest("obsolete line folding is not allowed")
    }
    guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else { throw .badRequest("header field without colon") }
    let name = line[..<colon]
    if let last = name.last, isOptionalWhitespace(last) {
        throw .badRequest("whitespace between header name and colon")
    }
    guard !name.isEmpty, name.allSatisfy(isTokenByte) else { throw .badRequest("invalid header name") }
    let value = line[(colon + 1)...].trimmingOWS()
    guard value.allSatisfy(isFieldValueByte) else { throw .badRequest("invalid character in header value") }
    return (String(decoding: name, as: UTF8.self), String(decoding: value, as: UTF8.self))
}

/// A complete, validated request head.
struct RequestHead {
    let line: RequestLine
    let headers: HTTPHeaders

    init(line: RequestLine, headers: HTTPHeaders) throws(HTTPParseError) {
        let hosts = headers.values(for: "Host")
        if hosts.count > 1 { throw .badRequest("multiple Host headers") }
        if hosts.isEmpty && line.version == .http11 { throw .badRequest("missing Host header") }
        self.line = line
        self.headers = headers
    }

    /// HTTP/1.1 persists unless "close" is listed; HTTP/1.0 only with "keep-alive".
    var keepAlive: Bool {
        let options = headers.values(for: "Connection").flatMap { $0.listElements() }.map { $0.lowercased() }
        if options.contains("close") { return false }
        return line.version == .http11 || options.contains("keep-alive")
    }

    /// Whether an HTTP/1.1 client waits for "100 Continue" before sending the body.
    var expectsContinue: Bool {
        line.version == .http11 && headers.values(for: "Expect").contains { $0.lowercased() == "100-continue" }
    }

    /// Determines the body framing, rejecting anything that could be read two ways (smuggling).
    func bodyFraming(maxBodyBytes: Int) throws(HTTPParseError) -> BodyFraming {
        let transferEncodings = headers.values(for: "Transfer-Encoding")
        let contentLengths = headers.values(for: "Content-Length")
        if !transferEncodings.isEmpty {
            guard contentLengths.isEmpty else { throw .badRequest("both Transfer-Encoding and Content-Length present") }
            guard line.version == .http11 else { throw .badRequest("Transfer-Encoding is not allowed in HTTP/1.0") }
            let codings = transferEncodings.flatMap { $0.listElements() }.filter { !$0.isEmpty }.map { $0.lowercased() }
            guard codings.allSatisfy({ $0 == "chunked" }) else { throw .notImplemented("unsupported transfer coding") }
            guard codings.count == 1 else { throw .badRequest("invalid Transfer-Encoding") }
            return .chunked
        }
        if contentLengths.isEmpty { return .none }
        let lengths = try contentLengths.flatMap { $0.listElements() }.map(parseContentLength)
        guard let length = lengths.first, lengths.allSatisfy({ $0 == length }) else {
            throw .badRequest("conflicting Content-Length values")
        }
        guard length <= maxBodyBytes else { throw .bodyTooLarge("request body exceeds \(maxBodyBytes) bytes") }
        return length == 0 ? .none : .length(length)
    }
}

/// Longest accepted Content-Length element; 19 digits hold any length an `Int` can.
private let maxContentLengthDigits = 19

/// Parses one Content-Length list element: 1 to 19 ASCII digits that fit in an `Int`, else 400.
private func parseContentLength(_ element: String) throws(HTTPParseError) -> Int {
    let digits = element.utf8
    guard (1...maxContentLengthDigits).contains(digits.count), digits.allSatisfy(isDigit) else {
        throw .badRequest("invalid Content-Length")
    }
    var value = 0
    for byte in digits {
        let (shifted, overflowA) = value.multipliedReportingOverflow(by: 10)
        let (sum, overflowB) = shifted.addingReportingOverflow(Int(byte - UInt8(ascii: "0")))
        if overflowA || overflowB { throw .badRequest("Content-Length out of range") }
        value = sum
    }
    return value
}

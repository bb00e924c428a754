/// The bytes of the webhook request: head and form body in one buffer.
enum RequestEncoding {
    /// Header fields the client sets itself; callers may not supply them.
    static let reservedHeaderNames: Set<String> = [
        "host", "content-type", "content-length", "connection", "transfer-encoding", "user-agent",
    ]

    static func encode(url: WebhookURL, body: [UInt8], headers: [(String, String)]) throws(DeliveryFailure) -> [UInt8] {
        var head = "POST \(url.target) HTTP/1.1\r\n"
        head += "Host: \(url.hostHeader)\r\n"
        head += "User-Agent: hera-webhook\r\n"
        head += "Content-Type: application/x-www-form-urlencoded\r\n"
        head += "Content-Length: \(body.count)\r\n"
        head += "Connection: close\r\n"
        for (name, value) in headers {
            try validate(name: name, value: value)
            head += "\(name): \(value)\r\n"
        }
        head += "\r\n"
        return Array(head.utf8) + body
    }

    /// Names must be RFC 9110 tokens; values may hold visible ASCII, spaces and tabs (no CR, LF
    /// or other control characters, so a header cannot split the request).
    private static func validate(name: String, value: String) throws(DeliveryFailure) {
        guard !name.isEmpty, name.utf8.allSatisfy(isTokenByte) else {
            throw .permanent("bad header name \(name.debugDescription)")
        }
        guard !reservedHeaderNames.contains(name.lowercased()) else {
            throw .permanent("header \(name) is set by the webhook client")
        }
        guard value.utf8.allSatisfy({ $0 == 0x09 || (0x20...0x7E).contains($0) }) else {
            throw .permanent("bad value for header \(name)")
        }
    }

    private static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return Array("!#$%&'*+-.^_`|~".utf8).contains(byte)
        }
    }
}

import Glibc

/// Serialises responses into wire bytes, taking over all framing decisions from the handler.
enum ResponseEncoding {
    /// The interim response sent when a client waits on `Expect: 100-continue`.
    static let continueResponse = Array("HTTP/1.1 100 Continue\r\n\r\n".utf8)

    /// Encodes `response`. Handler-supplied framing headers (Content-Length, Transfer-Encoding,
    /// Connection, Date) and fields unsafe to emit (bad names, CR/LF/NUL in values) are dropped;
    /// the server writes its own Content-Length (except for 1xx/204/304), Connection and Date.
    /// - Parameters:
    ///   - headOnly: send headers only (the response to HEAD).
    ///   - keepAlive: "Connection: keep-alive" (which HTTP/1.0 clients need), else "Connection: close".
    static func encode(_ response: HTTPResponse, headOnly: Bool, keepAlive: Bool) -> [UInt8] {
        let status = (100...999).contains(response.status) ? response.status : 500
        let bodyAllowed = status >= 200 && status != 204 && status != 304
        var head = "HTTP/1.1 \(status) \(reasonPhrase(for: status))\r\n"
        for field in response.headers.fields where isEmittable(field) {
            head += "\(field.name): \(field.value)\r\n"
        }
        if bodyAllowed {
            head += "Content-Length: \(response.body.count)\r\n"
        }
        head += keepAlive ? "Connection: keep-alive\r\n" : "Connection: close\r\n"
        head += "Date: \(httpDate())\r\n\r\n"
        var bytes = Array(head.utf8)
        if bodyAllowed && !headOnly {
            bytes.append(contentsOf: response.body)
        }
        return bytes
    }

    /// Whether the handler asked for the connection to be closed after this response.
    static func requestsClose(_ response: HTTPResponse) -> Bool {
        response.headers.values(for: "Connection").contains { value in
            value.listElements().contains { $0.lowercased() == "close" }
        }
    }

    private static let framingHeaders = ["Content-Length", "Transfer-Encoding", "Connection", "Date"]

    private static func isEmittable(_ field: (name: String, value: String)) -> Bool {
        guard !field.name.isEmpty, field.name.utf8.allSatisfy(isTokenByte) else { return false }
        guard !field.value.utf8.contains(where: { $0 == 0x0D || $0 == 0x0A || $0 == 0x00 }) else { return false }
        return !framingHeaders.contains { HTTPHeaders.namesMatch($0, field.name) }
    }
}

/// The current time in IMF-fixdate form, e.g. "Sun, 06 Nov 1994 08:49:37 GMT".
func httpDate() -> String {
    var now = time(nil)
    var parts = tm()
    gmtime_r(&now, &parts)
    let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    func twoDigits(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
    let day = days[Int(parts.tm_wday) % 7], month = months[Int(parts.tm_mon) % 12]
    return "\(day), \(twoDigits(parts.tm_mday)) \(month) \(parts.tm_year + 1900) "
        + "\(twoDigits(parts.tm_hour)):\(twoDigits(parts.tm_min)):\(twoDigits(parts.tm_sec)) GMT"
}

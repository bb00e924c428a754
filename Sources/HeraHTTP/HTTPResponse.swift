/// A response produced by the handler. The server adds framing headers when sending it.
public struct HTTPResponse: Sendable {
    public var status: Int
    public var headers: HTTPHeaders
    public var body: [UInt8]

    public init(status: Int, headers: HTTPHeaders = HTTPHeaders(), body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }
}

extension HTTPResponse {
    /// A JSON error body `{"status":"<name>","message":"<message>"}` as the gateway's clients expect.
    static func jsonError(status: Int, name: String, message: String) -> HTTPResponse {
        let body = #"{"status":"\#(jsonEscaped(name))","message":"\#(jsonEscaped(message))"}"#
        return HTTPResponse(
            status: status, headers: HTTPHeaders([(name: "Content-Type", value: "application/json")]),
            body: Array(body.utf8))
    }

    /// The error response for a request the parser rejected.
    static func parseFailure(_ error: HTTPParseError) -> HTTPResponse {
        let name = error.status == 413 ? "RequestTooLarge" : "MalformedRequest"
        return jsonError(status: error.status, name: name, message: error.reason)
    }
}

private func jsonEscaped(_ text: String) -> String {
    var escaped = ""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": escaped += "\\\""
        case "\\": escaped += "\\\\"
        case "\n": escaped += "\\n"
        case "\r": escaped += "\\r"
        case "\t": escaped += "\\t"
        case _ where scalar.value < 0x20:
            let hex = String(scalar.value, radix: 16)
            escaped += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
        default: escaped.unicodeScalars.append(scalar)
        }
    }
    return escaped
}

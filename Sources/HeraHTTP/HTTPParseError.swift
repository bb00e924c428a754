/// Why a request was rejected: the status to answer with and a human-readable reason.
public struct HTTPParseError: Error, Sendable, Equatable {
    public var status: Int
    public var reason: String

    public init(status: Int, reason: String) {
        self.status = status
        self.reason = reason
    }

    static func badRequest(_ reason: String) -> HTTPParseError {
        HTTPParseError(status: 400, reason: reason)
    }

    static func requestLineTooLong(_ reason: String) -> HTTPParseError {
        HTTPParseError(status: 414, reason: reason)
    }

    static func headTooLarge(_ reason: String) -> HTTPParseError {
        HTTPParseError(status: 431, reason: reason)
    }

    static func bodyTooLarge(_ reason: String) -> HTTPParseError {
        HTTPParseError(status: 413, reason: reason)
    }

    static func notImplemented(_ reason: String) -> HTTPParseError {
        HTTPParseError(status: 501, reason: reason)
    }

    static let versionNotSupported = HTTPParseError(status: 505, reason: "only HTTP/1.0 and HTTP/1.1 are supported")
    static let bareLineFeed = badRequest("line not terminated by CRLF")
}

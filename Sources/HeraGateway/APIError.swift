/// An error the API answers with: a stable wire name from the reference, an HTTP status, and a
/// message safe to show to the client. Mapped to a response in one place (`Response.error`).
public struct APIError: Error {
    public let name: String
    public let httpStatus: Int
    public let message: String

    public init(_ name: String, _ httpStatus: Int, _ message: String) {
        self.name = name
        self.httpStatus = httpStatus
        self.message = message
    }

    public static func malformed(_ message: String) -> APIError { APIError("MalformedRequest", 400, message) }
    public static let unauthenticated = APIError("PermissionDenied", 401, "missing or wrong credentials")
    public static func denied(_ message: String) -> APIError { APIError("PermissionDenied", 403, message) }
    public static let noSuchSandbox = APIError("SandboxDoesNotExist", 404, "no such sandbox")
    public static let notFound = APIError("NotFound", 404, "no such route")
    /// Extra response headers (Allow on a 405).
    public var headers: [(String, String)] = []

    public static func methodNotAllowed(allow: String) -> APIError {
        var error = APIError("MalformedRequest", 405, "this route takes \(allow)")
        error.headers = [("Allow", allow)]
        return error
    }
    public static let stopping = APIError("ServiceUnavailable", 503, "this gateway is stopping; retry")
    public static let databaseUnavailable = APIError("ServiceUnavailable", 503, "the database is unavailable; retry later")

    /// Maps a status name returned by a stored function to its HTTP status.
    public static func fromDatabase(_ name: String, _ message: String) -> APIError {
        let status: Int
        switch name {
        case "MalformedRequest", "NotEnoughMemoryRequested": status = 400
        case "PermissionDenied": status = 403
        case "SandboxDoesNotExist", "TemplateDoesNotExist": status = 404
        case "SandboxNotRunning": status = 409
        case "SandboxNoLongerAlive": status = 410
        case "QueueFull", "QuotaExceeded": status = 429
        case "ResourceNotAvailable": status = 503
        default: status = 500
        }
        return APIError(name, status, message)
    }
}

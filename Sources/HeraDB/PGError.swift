/// An error from PostgreSQL or libpq. `description` is for logs only: it may hold server
/// detail, so an HTTP layer must never send it to a client.
public struct PGError: Error, CustomStringConvertible, Sendable {
    /// The five-character SQLSTATE, or nil when the failure happened in libpq (connection lost, ...).
    public let sqlState: String?
    public let message: String

    public init(sqlState: String?, message: String) {
        self.sqlState = sqlState
        self.message = message
    }

    public var description: String {
        sqlState.map { "PostgreSQL error \($0): \(message)" } ?? "PostgreSQL connection error: \(message)"
    }

    /// True when the connection itself failed (the server is down or unreachable), not the statement.
    public var isConnectionFailure: Bool {
        guard let state = sqlState else { return true }
        return state.hasPrefix("08") || state.hasPrefix("57P")
    }

    public static let uniqueViolation = "23505"
    public static let deadlockDetected = "40P01"
    public static let checkViolation = "23514"
    public static let foreignKeyViolation = "23503"
    public static let raiseException = "P0001"
}

import CLibPQ
import Glibc

/// One libpq connection. Not thread-safe: one thread uses it at a time (the pool sees to that).
/// Only parameterised statements: values never go into SQL text.
public final class PGConnection {
    private var conn: OpaquePointer?

    public init(_ conninfo: String) throws {
        conn = PQconnectdb(conninfo)
        guard PQstatus(conn) == CONNECTION_OK else {
            let message = PGConnection.errorText(conn)
            PQfinish(conn)
            conn = nil
            throw PGError(sqlState: nil, message: message)
        }
        // Server notices and asynchronous errors would go to stderr; failures surface as thrown errors.
        PQsetNoticeProcessor(conn, { _, _ in }, nil)
        try execute("SET application_name = 'hera'; SET TimeZone = 'UTC'")
    }

    deinit { PQfinish(conn) }

    public var isHealthy: Bool { PQstatus(conn) == CONNECTION_OK }

    /// The socket, for waiting on notifications with poll().
    public var socket: Int32 { PQsocket(conn) }

    /// Runs one statement with text parameters ($1, $2, …); nil is SQL NULL.
    @discardableResult
    public func query(_ sql: String, _ parameters: [String?] = []) throws -> PGResult {
        let result = withCStrings(parameters) { values in
            PQexecParams(conn, sql, Int32(parameters.count), nil, values, nil, nil, 0)
        }
        return try check(result)
    }

    /// Runs SQL text without parameters; it may hold several statements (migrations).
    public func execute(_ sql: String) throws {
        _ = try check(PQexec(conn, sql))
    }

    /// Reads notifications that have arrived, waiting up to `timeout` seconds for the first.
    public func notifications(timeout: Double) throws -> [(channel: String, payload: String)] {
        var received = drainNotifications()
        if !received.isEmpty { return received }
        var pfd = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
        let ready = poll(&pfd, 1, Int32(max(0, timeout * 1000)))
        if ready < 0 && errno != EINTR { throw PGError(sqlState: nil, message: "poll failed: errno \(errno)") }
        guard PQconsumeInput(conn) == 1 else { throw PGError(sqlState: nil, message: PGConnection.errorText(conn)) }
        received = drainNotifications()
        return received
    }

    private func drainNotifications() -> [(channel: String, payload: String)] {
        var received: [(channel: String, payload: String)] = []
        while let notify = PQnotifies(conn) {
            received.append((String(cString: notify.pointee.relname), String(cString: notify.pointee.extra)))
            PQfreemem(notify)
        }
        return received
    }

    private func check(_ result: OpaquePointer?) throws -> PGResult {
        guard let result else { throw PGError(sqlState: nil, message: PGConnection.errorText(conn)) }
        switch PQresultStatus(result) {
        case PGRES_TUPLES_OK, PGRES_COMMAND_OK, PGRES_EMPTY_QUERY:
            return PGResult(result)
        default:
            let state = PQresultErrorField(result, Int32(UInt8(ascii: "C"))).map { String(cString: $0) }
            let message = PQresultErrorField(result, Int32(UInt8(ascii: "M"))).map { String(cString: $0) }
                ?? PGConnection.errorText(conn)
            PQclear(result)
            throw PGError(sqlState: state, message: message)
        }
    }

    private static func errorText(_ conn: OpaquePointer?) -> String {
        guard let text = PQerrorMessage(conn) else { return "unknown libpq error" }
        return String(cString: text).trimmingCharacters(in: [" ", "\n"])
    }
}

private func withCStrings<R>(_ strings: [String?], _ body: ([UnsafePointer<CChar>?]) -> R) -> R {
    let duplicated = strings.map { $0.map { strdup($0) } ?? nil }
    defer { duplicated.forEach { free($0) } }
    return body(duplicated.map { $0.map { UnsafePointer($0) } })
}

private extension String {
    func trimmingCharacters(in set: Set<Character>) -> String {
        var text = Substring(self)
        while let first = text.first, set.contains(first) { text = text.dropFirst() }
        while let last = text.last, set.contains(last) { text = text.dropLast() }
        return String(text)
    }
}

import CLibPQ
import Glibc

/// One libpq connection. Not thread-safe: one thread uses it at a time (the pool sees to that).
/// Only parameterised statements: values never go into SQL text. Connecting and every
/// statement are bounded in time, so a server that stops answering (not just one that is
/// down) turns into an error instead of a hang; a connection that timed out is closed.
public final class PGConnection {
    public static let defaultConnectTimeout = 5
    public static let defaultQueryTimeout = 30.0

    private var conn: OpaquePointer?
    private let queryTimeout: Double

    /// `conninfo`: a libpq connection string or URL ("" uses the PG* variables). Its own
    /// connect_timeout, if any, wins over the default.
    public init(_ conninfo: String, queryTimeout: Double = PGConnection.defaultQueryTimeout) throws {
        self.queryTimeout = queryTimeout
        let keywords = ["connect_timeout", "dbname"]
        let values = [String(PGConnection.defaultConnectTimeout), conninfo]
        conn = withCStrings(keywords) { k in
            withCStrings(values) { v in PQconnectdbParams(k + [nil], v + [nil], 1) }
        }
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

    public var isHealthy: Bool { conn != nil && PQstatus(conn) == CONNECTION_OK }

    /// The socket, for waiting on notifications with poll().
    public var socket: Int32 { PQsocket(conn) }

    /// Runs one statement with text parameters ($1, $2, …); nil is SQL NULL.
    @discardableResult
    public func query(_ sql: String, _ parameters: [String?] = []) throws -> PGResult {
        guard isHealthy else { throw PGError(sqlState: nil, message: "the connection is closed") }
        let sent = withCStrings(parameters) { values in
            PQsendQueryParams(conn, sql, Int32(parameters.count), nil, values, nil, nil, 0)
        }
        guard sent == 1 else { throw PGError(sqlState: nil, message: PGConnection.errorText(conn)) }
        try waitForResult(until: monotonicSeconds() + queryTimeout)
        var last: OpaquePointer?
        var failure: Error?
        while let result = PQgetResult(conn) {
            do {
                let succeeded = try checked(result)
                last.map { PQclear($0) }
                last = succeeded
            } catch {
                failure = failure ?? error
            }
        }
        if let failure { last.map { PQclear($0) }; throw failure }
        guard let last else { throw PGError(sqlState: nil, message: PGConnection.errorText(conn)) }
        return PGResult(last)
    }

    /// Waits until the whole answer is in, or closes the connection at `deadline`.
    private func waitForResult(until deadline: Double) throws {
        while PQisBusy(conn) == 1 {
            let remaining = deadline - monotonicSeconds()
            var pfd = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
            let ready = remaining > 0 ? poll(&pfd, 1, Int32(min(remaining, 3600) * 1000) + 1) : 0
            if ready < 0 && errno == EINTR { continue }
            guard ready > 0 else {
                PQfinish(conn)
                conn = nil
                throw PGError(sqlState: nil, message: "no answer from PostgreSQL within \(queryTimeout) s; connection closed")
            }
            guard PQconsumeInput(conn) == 1 else { throw PGError(sqlState: nil, message: PGConnection.errorText(conn)) }
        }
    }

    /// Runs SQL text without parameters; it may hold several statements (migrations).
    public func execute(_ sql: String) throws {
        PQclear(try checked(PQexec(conn, sql)))
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

    /// The result if the statement succeeded; otherwise frees it and throws its error.
    private func checked(_ result: OpaquePointer?) throws -> OpaquePointer {
        guard let result else { throw PGError(sqlState: nil, message: PGConnection.errorText(conn)) }
        switch PQresultStatus(result) {
        case PGRES_TUPLES_OK, PGRES_COMMAND_OK, PGRES_EMPTY_QUERY:
            return result
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

private func monotonicSeconds() -> Double {
    var time = timespec()
    clock_gettime(CLOCK_MONOTONIC, &time)
    return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
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

import Foundation

/// A bounded pool of connections. A caller borrows one for a short piece of work; a connection
/// that failed is dropped and replaced on the next checkout, and so are the idle ones (after a
/// server restart they are all dead). Waiting for a connection is bounded, and so is every
/// statement (`queryTimeout`).
public final class PGPool: @unchecked Sendable {
    public let conninfo: String
    public let size: Int
    public let checkoutTimeout: Double
    public let queryTimeout: Double
    private let condition = NSCondition()
    private var idle: [PGConnection] = []
    private var open = 0
    private var waiting = 0

    public init(conninfo: String, size: Int, checkoutTimeout: Double = 5,
                queryTimeout: Double = PGConnection.defaultQueryTimeout) {
        self.conninfo = conninfo
        self.size = size
        self.checkoutTimeout = checkoutTimeout
        self.queryTimeout = queryTimeout
    }

    /// Connections in use and callers waiting for one.
    public var usage: (inUse: Int, waiting: Int) {
        condition.lock()
        defer { condition.unlock() }
        return (open - idle.count, waiting)
    }

    /// Runs `body` with a connection. Throws PGError when no connection can be had in time.
    public func with<R>(_ body: (PGConnection) throws -> R) throws -> R {
        let connection = try checkout()
        do {
            let result = try body(connection)
            checkin(connection)
            return result
        } catch {
            checkin(connection)
            throw error
        }
    }

    /// Attempts at one statement that PostgreSQL ends as a deadlock's victim.
    static let deadlockAttempts = 3

    /// Shorthand for one statement on a pooled connection. The statement is its own
    /// transaction, so a deadlock victim (rolled back whole) is simply run again.
    @discardableResult
    public func query(_ sql: String, _ parameters: [String?] = []) throws -> PGResult {
        var attempt = 1
        while true {
            do {
                return try with { try $0.query(sql, parameters) }
            } catch let error as PGError where error.sqlState == PGError.deadlockDetected && attempt < Self.deadlockAttempts {
                attempt += 1
            }
        }
    }

    private func checkout() throws -> PGConnection {
        let deadline = Date(timeIntervalSinceNow: checkoutTimeout)
        condition.lock()
        while idle.isEmpty && open >= size {
            waiting += 1
            let signalled = condition.wait(until: deadline)
            waiting -= 1
            if !signalled && idle.isEmpty && open >= size {
                condition.unlock()
                throw PGError(sqlState: nil, message: "no database connection free within \(checkoutTimeout) s")
            }
        }
        if let connection = idle.popLast() {
            condition.unlock()
            return connection
        }
        open += 1
        condition.unlock()
        do {
            return try PGConnection(conninfo, queryTimeout: queryTimeout)
        } catch {
            condition.lock()
            open -= 1
            condition.signal()
            condition.unlock()
            throw error
        }
    }

    private func checkin(_ connection: PGConnection) {
        condition.lock()
        if connection.isHealthy {
            idle.append(connection)
        } else {
            open -= 1 + idle.count
            idle.removeAll()
        }
        condition.signal()
        condition.unlock()
    }
}

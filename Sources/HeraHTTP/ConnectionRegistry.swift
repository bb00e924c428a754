import Foundation

/// The live connections, bounded by a capacity; lets a stopping server wait for them to finish.
final class ConnectionRegistry: @unchecked Sendable {
    private let capacity: Int
    private let condition = NSCondition()
    private var connections: [ObjectIdentifier: HTTPConnection] = [:]

    init(capacity: Int) {
        self.capacity = capacity
    }

    /// Registers `connection`; false when the registry is already full.
    func admit(_ connection: HTTPConnection) -> Bool {
        condition.withLock {
            guard connections.count < capacity else { return false }
            connections[ObjectIdentifier(connection)] = connection
            return true
        }
    }

    func remove(_ connection: HTTPConnection) {
        condition.withLock {
            connections[ObjectIdentifier(connection)] = nil
            condition.broadcast()
        }
    }

    var all: [HTTPConnection] {
        condition.withLock { Array(connections.values) }
    }

    /// Waits until every connection was removed; false if some remain at `deadline`.
    func waitUntilEmpty(before deadline: Date) -> Bool {
        condition.withLock {
            while !connections.isEmpty {
                if !condition.wait(until: deadline) { return connections.isEmpty }
            }
            return true
        }
    }
}

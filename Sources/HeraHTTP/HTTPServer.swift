import Foundation
import Glibc

/// A threaded HTTP/1.1 server: one accept thread, one thread per connection, synchronous handler.
public final class HTTPServer: @unchecked Sendable {
    /// The bound port (useful when constructed with port 0).
    public let port: Int

    private let listener: Listener
    private let limits: HTTPLimits
    private let handler: @Sendable (HTTPRequest) -> HTTPResponse
    private let headCheck: HTTPHeadCheck?
    private let registry: ConnectionRegistry
    private let acceptLoopFinished = DispatchSemaphore(value: 0)
    private let lifecycleLock = NSLock()
    private var hasStarted = false
    private var hasStopped = false

    /// Binds and listens immediately (SO_REUSEADDR; port 0 picks a free port).
    /// Throws a `SocketError` naming the failed call (e.g. "bind(0.0.0.0:80)") if that fails.
    /// `headCheck` sees each request's head before its body is read (see `HTTPHeadCheck`).
    public init(host: String, port: Int, limits: HTTPLimits = HTTPLimits(),
                headCheck: HTTPHeadCheck? = nil,
                handler: @escaping @Sendable (HTTPRequest) -> HTTPResponse) throws {
        listener = try Listener(host: host, port: port)
        self.port = listener.port
        self.limits = limits
        self.headCheck = headCheck
        self.handler = handler
        registry = ConnectionRegistry(capacity: limits.maxConnections)
    }

    /// Starts accepting on a background thread and returns at once. Calling it again, or after
    /// `stop`, does nothing.
    public func start() {
        let shouldStart = lifecycleLock.withLock {
            defer { hasStarted = true }
            return !hasStarted && !hasStopped
        }
        guard shouldStart else { return }
        let thread = Thread { [self] in
            acceptLoop()
            acceptLoopFinished.signal()
        }
        thread.name = "hera-http-accept"
        thread.start()
    }

    /// Graceful stop: stop accepting, close idle keep-alive connections, let in-flight requests
    /// finish and send their responses (with "Connection: close"), wait up to `grace` seconds,
    /// then cut off the rest. Handler calls still running then are not interrupted.
    public func stop(grace: Double) {
        let deadline = Date(timeIntervalSinceNow: grace)
        let (shouldStop, wasStarted) = lifecycleLock.withLock {
            defer { hasStopped = true }
            return (!hasStopped, hasStarted)
        }
        guard shouldStop else { return }
        listener.wake()
        if wasStarted { acceptLoopFinished.wait() }
        listener.close()
        for connection in registry.all { connection.requestStop() }
        if !registry.waitUntilEmpty(before: deadline) {
            for connection in registry.all { connection.forceClose() }
        }
    }

    private func acceptLoop() {
        while true {
            do throws(SocketError) {
                switch try listener.nextEvent() {
                case .woken:
                    return
                case .connection(let socket, let remoteAddress):
                    serve(socket, remoteAddress: remoteAddress)
                }
            } catch {
                // Typically EMFILE/ENFILE: back off rather than spin on the pending connection.
                usleep(50_000)
            }
        }
    }

    private func serve(_ socket: Socket, remoteAddress: String) {
        let connection = HTTPConnection(socket: socket, remoteAddress: remoteAddress, limits: limits,
                                        headCheck: headCheck, handler: handler)
        guard registry.admit(connection) else {
            let response = HTTPResponse.jsonError(status: 503, name: "ServiceUnavailable", message: "too many connections")
            return connection.reject(with: response)
        }
        let thread = Thread { [registry] in
            connection.run()
            registry.remove(connection)
        }
        thread.name = "hera-http-connection"
        thread.start()
    }
}

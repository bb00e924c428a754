import Foundation
import XCTest

@testable import HeraHTTP

/// A test case that starts servers on free loopback ports and stops them in `tearDown`.
class ServerTestCase: XCTestCase {
    private var servers: [HTTPServer] = []

    override func tearDown() {
        for server in servers { server.stop(grace: 0) }
        servers = []
        super.tearDown()
    }

    /// Starts a server; the default handler echoes method, path and body.
    func startServer(
        limits: HTTPLimits = HTTPLimits(),
        handler: @escaping @Sendable (HTTPRequest) -> HTTPResponse = { request in
            HTTPResponse(status: 200, body: Array("\(request.method) \(request.path) ".utf8) + request.body)
        }
    ) throws -> HTTPServer {
        let server = try HTTPServer(host: "127.0.0.1", port: 0, limits: limits, handler: handler)
        server.start()
        servers.append(server)
        return server
    }

    /// Starts a server that answers 200 and counts how many requests reached its handler.
    func startCountingServer() throws -> (HTTPServer, CallCounter) {
        let calls = CallCounter()
        let server = try startServer { _ in
            calls.record()
            return HTTPResponse(status: 200)
        }
        return (server, calls)
    }

    func elapsed(since start: Date) -> Double {
        Date().timeIntervalSince(start)
    }

    /// Sends `input` on a fresh connection and asserts that exactly one error response with
    /// `status` comes back, followed by the server closing the connection.
    func assertSingleErrorResponse(
        _ input: String, status: Int, to server: HTTPServer, _ name: String,
        file: StaticString = #filePath, line: UInt = #line
    ) throws {
        let client = try TestClient(port: server.port)
        try client.send(input)
        let response = try client.readResponse()
        XCTAssertEqual(response.status, status, name, file: file, line: line)
        XCTAssertEqual(response.headers["connection"], "close", name, file: file, line: line)
        XCTAssertEqual(try client.readUntilClosed(), [], "\(name): nothing may follow the error", file: file, line: line)
    }
}

/// Counts handler calls across connection threads.
final class CallCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var calls = 0

    var count: Int { lock.withLock { calls } }

    func record() {
        lock.withLock { calls += 1 }
    }
}

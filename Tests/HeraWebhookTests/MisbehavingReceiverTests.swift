import Glibc
import XCTest
@testable import HeraWebhook

/// Receivers that hang, flood, close early or are not there: every attempt ends in time.
final class MisbehavingReceiverTests: XCTestCase {
    private var servers: [RawTestServer] = []

    override func tearDown() {
        for server in servers { server.stop() }
    }

    private func start(_ behavior: @escaping @Sendable (Int32, RawTestServer) -> Void) throws -> RawTestServer {
        let server = try RawTestServer(behavior: behavior)
        servers.append(server)
        return server
    }

    func testSilentReceiverTimesOutWithinTotalTimeout() throws {
        let server = try start { connection, server in
            readRequestHead(connection)
            _ = server.stopped.wait(timeout: .now() + 10)
        }
        let (outcome, elapsed) = timed {
            loopbackClient(totalTimeout: 1).deliver(WebhookRequest(url: "http://127.0.0.1:\(server.port)/", body: []))
        }
        XCTAssertTrue(outcome.isRetryable, "\(outcome)")
        XCTAssertTrue(outcome.reason.contains("timed out"), outcome.reason)
        XCTAssertGreaterThan(elapsed, 0.9)
        XCTAssertLessThan(elapsed, 2)
    }

    func testEndlessHeadersAreReadOnlyUpToTheLimit() throws {
        let server = try start { connection, _ in
            readRequestHead(connection)
            guard writeAll(connection, Array("HTTP/1.1 200 OK\r\n".utf8)) else { return }
            let padding = Array(("X-Padding: " + String(repeating: "a", count: 1000) + "\r\n").utf8)
            while writeAll(connection, padding) {}
        }
        let (outcome, elapsed) = timed {
            loopbackClient(totalTimeout: 5, maxResponseBytes: 16 << 10)
                .deliver(WebhookRequest(url: "http://127.0.0.1:\(server.port)/", body: []))
        }
        XCTAssertEqual(outcome, .delivered(status: 200))
        XCTAssertLessThan(elapsed, 1)
    }

    func testEndlessBodyIsNotRead() throws {
        let server = try start { connection, _ in
            readRequestHead(connection)
            guard writeAll(connection, Array("HTTP/1.1 503 Busy\r\nContent-Length: 999999999\r\n\r\n".utf8)) else { return }
            let chunk = [UInt8](repeating: 0x61, count: 16 << 10)
            while writeAll(connection, chunk) {}
        }
        let (outcome, elapsed) = timed {
            loopbackClient(totalTimeout: 5).deliver(WebhookRequest(url: "http://127.0.0.1:\(server.port)/", body: []))
        }
        XCTAssertTrue(outcome.isRetryable, "\(outcome)")
        XCTAssertLessThan(elapsed, 1)
    }

    func testEndlessGarbageWithoutStatusLineIsRetryable() throws {
        let server = try start { connection, _ in
            readRequestHead(connection)
            let chunk = [UInt8](repeating: 0x78, count: 16 << 10)
            while writeAll(connection, chunk) {}
        }
        let (outcome, elapsed) = timed {
            loopbackClient(totalTimeout: 5).deliver(WebhookRequest(url: "http://127.0.0.1:\(server.port)/", body: []))
        }
        XCTAssertTrue(outcome.isRetryable, "\(outcome)")
        XCTAssertLessThan(elapsed, 1)
    }

    func testInterimResponsesAreSkipped() throws {
        let server = try start { connection, _ in
            readRequestHead(connection)
            writeAll(connection, Array("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n".utf8))
        }
        let outcome = loopbackClient().deliver(WebhookRequest(url: "http://127.0.0.1:\(server.port)/", body: []))
        XCTAssertEqual(outcome, .delivered(status: 201))
    }

    func testReceiverClosingWithoutAnswerIsRetryable() throws {
        let server = try start { connection, _ in readRequestHead(connection) }
        let outcome = loopbackClient().deliver(WebhookRequest(url: "http://127.0.0.1:\(server.port)/", body: []))
        XCTAssertTrue(outcome.isRetryable, "\(outcome)")
    }

    /// The receiver resets the connection while a large body is being sent: EPIPE/ECONNRESET,
    /// never SIGPIPE (which would kill the test process).
    func testDyingReceiverDoesNotRaiseSIGPIPE() throws {
        let server = try start { connection, _ in
            var reset = linger(l_onoff: 1, l_linger: 0)
            setsockopt(connection, SOL_SOCKET, SO_LINGER, &reset, socklen_t(MemoryLayout<linger>.size))
        }
        let body = [UInt8](repeating: 0x61, count: 16 << 20)
        let outcome = loopbackClient().deliver(WebhookRequest(url: "http://127.0.0.1:\(server.port)/", body: body))
        XCTAssertTrue(outcome.isRetryable, "\(outcome)")
    }

    /// A listener with a full accept queue drops further SYNs, so the connect stays pending.
    func testUnansweredConnectGivesUpAtConnectTimeout() throws {
        let (listener, port) = try listenOnLoopback(backlog: 0)
        let fillers = (0..<3).map { _ in startConnecting(toLoopbackPort: port) }
        defer { for descriptor in fillers + [listener] { close(descriptor) } }
        usleep(100_000)
        let client = WebhookClient(policy: WebhookPolicy(connectTimeout: 0.5, totalTimeout: 3, allowPrivateAddresses: true))
        let (outcome, elapsed) = timed { client.deliver(WebhookRequest(url: "http://127.0.0.1:\(port)/", body: [])) }
        XCTAssertTrue(outcome.isRetryable && outcome.reason.contains("timed out connecting"), "\(outcome)")
        XCTAssertGreaterThan(elapsed, 0.4)
        XCTAssertLessThan(elapsed, 1.5)
    }

    func testConnectionRefusedIsRetryable() throws {
        let (listener, port) = try listenOnLoopback()
        close(listener)
        let outcome = loopbackClient().deliver(WebhookRequest(url: "http://127.0.0.1:\(port)/", body: []))
        XCTAssertTrue(outcome.isRetryable, "\(outcome)")
        XCTAssertTrue(outcome.reason.contains("refused"), outcome.reason)
    }
}

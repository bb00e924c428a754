import Foundation
import XCTest

@testable import HeraHTTP

/// Counts handler entries and lets a test hold handlers until it releases them.
private final class Gate: @unchecked Sendable {
    let entered = DispatchSemaphore(value: 0)
    let released = DispatchSemaphore(value: 0)
}

final class HTTPServerTests: ServerTestCase {
    func testKeepAliveServesTwoRequestsOnOneConnection() throws {
        let server = try startServer { request in
            HTTPResponse(status: 200, body: Array("\(request.path) from \(request.remoteAddress)".utf8))
        }
        let client = try TestClient(port: server.port)
        try client.send("GET /one HTTP/1.1\r\nHost: t\r\n\r\n")
        let first = try client.readResponse()
        try client.send("GET /two HTTP/1.1\r\nHost: t\r\n\r\n")
        let second = try client.readResponse()
        XCTAssertEqual(first.status, 200)
        XCTAssertTrue(first.bodyText.hasPrefix("/one from 127.0.0.1:"), first.bodyText)
        XCTAssertEqual(first.headers["connection"], "keep-alive")
        XCTAssertTrue(second.bodyText.hasPrefix("/two"))
    }

    func testMalformedRequestGets400AndConnectionCloses() throws {
        let server = try startServer()
        let client = try TestClient(port: server.port)
        try client.send("GET / HTTP/1.1\r\nHost : t\r\n\r\nGET / HTTP/1.1\r\nHost: t\r\n\r\n")
        let response = try client.readResponse()
        XCTAssertEqual(response.status, 400)
        XCTAssertEqual(response.headers["connection"], "close")
        XCTAssertEqual(response.headers["content-type"], "application/json")
        XCTAssertTrue(response.bodyText.hasPrefix(#"{"status":"MalformedRequest","message":"#), response.bodyText)
        XCTAssertEqual(try client.readUntilClosed(), [], "nothing after the error, then close")
    }

    func testHeadRequestSendsHeadersOnly() throws {
        let server = try startServer()
        let client = try TestClient(port: server.port)
        try client.send("HEAD /h HTTP/1.1\r\nHost: t\r\n\r\n")
        let head = try client.readResponse(hasBody: false)
        XCTAssertEqual(head.headers["content-length"], "8")
        try client.send("GET /g HTTP/1.1\r\nHost: t\r\n\r\n")
        XCTAssertEqual(try client.readResponse().bodyText, "GET /g ", "no stray body bytes from HEAD")
    }

    func testExpectContinueGetsInterimResponseBeforeBody() throws {
        let server = try startServer()
        let client = try TestClient(port: server.port)
        try client.send("PUT /p HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n")
        XCTAssertEqual(try client.readResponse(hasBody: false).status, 100)
        try client.send("data")
        XCTAssertEqual(try client.readResponse().bodyText, "PUT /p data")
    }

    func testHTTP10ClientIsClosedUnlessItAsksForKeepAlive() throws {
        let server = try startServer()
        let client = try TestClient(port: server.port)
        try client.send("GET /x HTTP/1.0\r\n\r\n")
        XCTAssertEqual(try client.readResponse().headers["connection"], "close")
        XCTAssertEqual(try client.readUntilClosed(), [])
    }

    func testBodyOverLimitGets413AndConnectionCloses() throws {
        let server = try startServer(limits: HTTPLimits(maxBodyBytes: 10))
        for framing in ["Content-Length: 11\r\n\r\n", "Transfer-Encoding: chunked\r\n\r\nB\r\n"] {
            let client = try TestClient(port: server.port)
            try client.send("POST / HTTP/1.1\r\nHost: t\r\n\(framing)")
            let response = try client.readResponse()
            XCTAssertEqual(response.status, 413, framing)
            XCTAssertTrue(response.bodyText.contains(#""status":"RequestTooLarge""#), response.bodyText)
            XCTAssertEqual(try client.readUntilClosed(), [])
        }
    }

    func testSlowHeadIsCutOffByHeadTimeoutWith408() throws {
        let server = try startServer(limits: HTTPLimits(headTimeout: 0.3))
        let client = try TestClient(port: server.port)
        let start = Date()
        try client.send("GET /slow HTTP/1.1\r\nHost: t\r\n")
        let response = try client.readResponse()
        XCTAssertEqual(response.status, 408)
        XCTAssertEqual(try client.readUntilClosed(), [])
        XCTAssertTrue((0.25...2.0).contains(elapsed(since: start)), "took \(elapsed(since: start)) s")
    }

    func testTricklingHeadDoesNotExtendHeadTimeout() throws {
        let server = try startServer(limits: HTTPLimits(headTimeout: 0.4))
        let client = try TestClient(port: server.port)
        let start = Date()
        let trickle = Array("GET / HTTP/1.1\r\nX-Slow: ".utf8) + [UInt8](repeating: UInt8(ascii: "a"), count: 100)
        for byte in trickle where elapsed(since: start) < 0.7 {
            try? client.send([byte])
            Thread.sleep(forTimeInterval: 0.05)
        }
        XCTAssertEqual(try client.readResponse().status, 408)
        XCTAssertTrue((0.35...2.0).contains(elapsed(since: start)), "took \(elapsed(since: start)) s")
    }

    func testWaitingBeforeTheFirstByteDoesNotExtendHeadTimeout() throws {
        // Regression: the head clock used to restart at the first byte, so a client that waited
        // almost a head timeout before trickling held its connection for nearly two.
        let server = try startServer(limits: HTTPLimits(headTimeout: 0.5))
        let client = try TestClient(port: server.port)
        let start = Date()
        Thread.sleep(forTimeInterval: 0.35)
        try client.send("GET / HTTP/1.1\r\n")
        XCTAssertEqual(try client.readResponse().status, 408)
        XCTAssertTrue((0.45...0.75).contains(elapsed(since: start)), "took \(elapsed(since: start)) s")
    }

    func testSilentConnectionIsClosedWithoutResponse() throws {
        let server = try startServer(limits: HTTPLimits(headTimeout: 0.2))
        let client = try TestClient(port: server.port)
        let start = Date()
        XCTAssertEqual(try client.readUntilClosed(), [])
        XCTAssertTrue((0.15...2.0).contains(elapsed(since: start)), "took \(elapsed(since: start)) s")
    }

    func testIdleKeepAliveConnectionIsClosedSilently() throws {
        let server = try startServer(limits: HTTPLimits(idleTimeout: 0.3))
        let client = try TestClient(port: server.port)
        try client.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        XCTAssertEqual(try client.readResponse().status, 200)
        let start = Date()
        XCTAssertEqual(try client.readUntilClosed(), [])
        XCTAssertTrue((0.25...2.0).contains(elapsed(since: start)), "took \(elapsed(since: start)) s")
    }

    func testMaxConnectionsIsHonoured() throws {
        let server = try startServer(limits: HTTPLimits(maxConnections: 1))
        let first = try TestClient(port: server.port)
        try first.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        XCTAssertEqual(try first.readResponse().status, 200)

        let second = try TestClient(port: server.port)
        let rejected = try second.readResponse()
        XCTAssertEqual(rejected.status, 503)
        XCTAssertEqual(rejected.headers["connection"], "close")
        XCTAssertEqual(try second.readUntilClosed(), [])

        first.close()
        let deadline = Date(timeIntervalSinceNow: 2)
        var status = 0
        while status != 200 && Date() < deadline {
            let third = try TestClient(port: server.port)
            try third.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n")
            status = (try? third.readResponse().status) ?? 0
            if status != 200 { Thread.sleep(forTimeInterval: 0.02) }
        }
        XCTAssertEqual(status, 200, "a slot frees up once the first client left")
    }

    func testGracefulStopLetsInFlightRequestFinishAndRefusesNewConnections() throws {
        let gate = Gate()
        let server = try startServer { request in
            if request.path == "/slow" {
                gate.entered.signal()
                Thread.sleep(forTimeInterval: 0.4)
            }
            return HTTPResponse(status: 200, body: Array("done \(request.path)".utf8))
        }
        let idle = try TestClient(port: server.port)
        try idle.send("GET /quick HTTP/1.1\r\nHost: t\r\n\r\n")
        XCTAssertEqual(try idle.readResponse().status, 200)

        let busy = try TestClient(port: server.port)
        try busy.send("GET /slow HTTP/1.1\r\nHost: t\r\n\r\n")
        XCTAssertEqual(gate.entered.wait(timeout: .now() + 2), .success)

        let stopped = DispatchSemaphore(value: 0)
        let start = Date()
        Thread.detachNewThread {
            server.stop(grace: 3)
            stopped.signal()
        }
        XCTAssertEqual(try idle.readUntilClosed(timeout: 1), [], "idle keep-alive connection closed at once")
        XCTAssertLessThan(elapsed(since: start), 0.35)

        let response = try busy.readResponse()
        XCTAssertEqual(response.bodyText, "done /slow")
        XCTAssertEqual(response.headers["connection"], "close")
        XCTAssertEqual(try busy.readUntilClosed(), [])
        busy.close()
        XCTAssertEqual(stopped.wait(timeout: .now() + 2), .success)
        XCTAssertTrue((0.2...1.0).contains(elapsed(since: start)), "stop took \(elapsed(since: start)) s")
        XCTAssertThrowsError(try TestClient(port: server.port), "listener is closed after stop")
    }

    func testStopCutsOffConnectionsThatOutlastTheGracePeriod() throws {
        let gate = Gate()
        let server = try startServer { _ in
            gate.entered.signal()
            _ = gate.released.wait(timeout: .now() + 5)
            return HTTPResponse(status: 200)
        }
        let client = try TestClient(port: server.port)
        try client.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        XCTAssertEqual(gate.entered.wait(timeout: .now() + 2), .success)
        let start = Date()
        server.stop(grace: 0.2)
        XCTAssertTrue((0.15...1.5).contains(elapsed(since: start)), "stop took \(elapsed(since: start)) s")
        XCTAssertEqual(try client.readUntilClosed(timeout: 1), [], "cut off without a response")
        gate.released.signal()
    }

    func testClientDisconnectingMidResponseDoesNotCrashServer() throws {
        let largeBody = [UInt8](repeating: 0x61, count: 4 * 1024 * 1024)
        let gate = Gate()
        let server = try startServer { request in
            if request.path == "/late" {
                _ = gate.released.wait(timeout: .now() + 2)
                gate.entered.signal()
            }
            return HTTPResponse(status: 200, body: request.path == "/small" ? Array("ok".utf8) : largeBody)
        }
        for _ in 0..<3 {
            let client = try TestClient(port: server.port)
            try client.send("GET /large HTTP/1.1\r\nHost: t\r\n\r\n")
            _ = try? client.readResponse(timeout: 0.05)
            client.abort()
        }
        // A client that left before the response: writing to it would raise SIGPIPE without MSG_NOSIGNAL.
        let gone = try TestClient(port: server.port)
        try gone.send("GET /late HTTP/1.1\r\nHost: t\r\n\r\n")
        gone.close()
        gate.released.signal()
        XCTAssertEqual(gate.entered.wait(timeout: .now() + 2), .success)
        Thread.sleep(forTimeInterval: 0.2)  // let the server write into the closed connection
        let client = try TestClient(port: server.port)
        try client.send("GET /small HTTP/1.1\r\nHost: t\r\n\r\n")
        XCTAssertEqual(try client.readResponse().bodyText, "ok")
    }

    func testSlowReaderIsCutOffByWriteTimeout() throws {
        let hugeBody = [UInt8](repeating: 0x62, count: 64 * 1024 * 1024)
        let server = try startServer(limits: HTTPLimits(writeTimeout: 0.3, maxConnections: 1)) { request in
            HTTPResponse(status: 200, body: request.path == "/huge" ? hugeBody : [])
        }
        let stalled = try TestClient(port: server.port)
        try stalled.send("GET /huge HTTP/1.1\r\nHost: t\r\n\r\n")
        let start = Date()
        var status = 0
        while status != 200 && elapsed(since: start) < 3 {
            Thread.sleep(forTimeInterval: 0.05)
            let probe = try TestClient(port: server.port)
            try probe.send("GET /small HTTP/1.1\r\nHost: t\r\n\r\n")
            status = (try? probe.readResponse().status) ?? 0
        }
        XCTAssertEqual(status, 200, "the stalled connection's slot was freed")
        XCTAssertTrue((0.25...2.5).contains(elapsed(since: start)), "took \(elapsed(since: start)) s")
    }

    func testHandlerCanAskToCloseTheConnection() throws {
        let server = try startServer { _ in
            HTTPResponse(status: 200, headers: HTTPHeaders([(name: "Connection", value: "close")]))
        }
        let client = try TestClient(port: server.port)
        try client.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        XCTAssertEqual(try client.readResponse().headers["connection"], "close")
        XCTAssertEqual(try client.readUntilClosed(), [])
    }

    func testBindFailureThrowsDescriptiveError() throws {
        let server = try startServer()
        XCTAssertThrowsError(try HTTPServer(host: "127.0.0.1", port: server.port) { _ in HTTPResponse(status: 200) }) {
            XCTAssertTrue("\($0)".contains("bind(127.0.0.1:\(server.port))"), "\($0)")
        }
        XCTAssertThrowsError(try HTTPServer(host: "no such host.invalid", port: 0) { _ in HTTPResponse(status: 200) })
    }
}

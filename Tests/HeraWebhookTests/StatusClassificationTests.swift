import HeraHTTP
import XCTest
@testable import HeraWebhook

/// Deliveries to a real HTTP receiver answering with the status named in the path.
final class StatusClassificationTests: XCTestCase {
    private var server: HTTPServer!
    private let log = RequestLog()

    override func setUpWithError() throws {
        let log = self.log
        server = try HTTPServer(host: "127.0.0.1", port: 0) { request in
            log.record(request)
            let status = Int(request.path.split(separator: "/").last ?? "") ?? 200
            var headers = HTTPHeaders()
            if (300...399).contains(status) { headers.add("Location", "/elsewhere") }
            return HTTPResponse(status: status, headers: headers, body: Array("answer".utf8))
        }
        server.start()
    }

    override func tearDown() {
        server.stop(grace: 0)
    }

    private func deliver(status: Int) -> WebhookOutcome {
        loopbackClient().deliver(WebhookRequest(url: "http://127.0.0.1:\(server.port)/status/\(status)", body: Array("a=1".utf8)))
    }

    func test2xxIsDelivered() {
        XCTAssertEqual(deliver(status: 200), .delivered(status: 200))
        XCTAssertEqual(deliver(status: 204), .delivered(status: 204))
    }

    func testServerErrorsTimeoutAndRateLimitAreRetryable() {
        for status in [500, 502, 503, 408, 429] {
            XCTAssertTrue(deliver(status: status).isRetryable, "\(status)")
        }
    }

    func testClientErrorsArePermanent() {
        for status in [400, 401, 404, 410, 413] {
            XCTAssertTrue(deliver(status: status).isPermanent, "\(status)")
        }
    }

    func testRedirectIsPermanentAndNotFollowed() {
        let outcome = deliver(status: 302)
        XCTAssertTrue(outcome.isPermanent, "\(outcome)")
        XCTAssertEqual(log.all.map(\.path), ["/status/302"])
    }

    func testRequestCarriesFormBodyHeadersAndSignature() throws {
        let body = Array("event=sandbox.stopped&id=sb_1".utf8)
        let signature = WebhookSignature.headers(deliveryID: "dlv_1", timestamp: 1_733_000_000, body: body, secret: "s3cret")
        let url = "http://localhost:\(server.port)/hooks/in?x=1#ignored"
        XCTAssertEqual(loopbackClient().deliver(WebhookRequest(url: url, body: body, headers: signature)), .delivered(status: 200))

        let request = try XCTUnwrap(log.all.first)
        XCTAssertEqual(request.method, "POST")
        XCTAssertEqual(request.target, "/hooks/in?x=1")
        XCTAssertEqual(request.body, body)
        XCTAssertEqual(request.headers["Host"], "localhost:\(server.port)")
        XCTAssertEqual(request.headers["Content-Type"], "application/x-www-form-urlencoded")
        XCTAssertEqual(request.headers["Content-Length"], String(body.count))
        XCTAssertEqual(request.headers["User-Agent"], "hera-webhook")
        XCTAssertEqual(request.headers["Connection"], "close")
        XCTAssertEqual(request.headers["Hera-Delivery"], "dlv_1")
        XCTAssertTrue(WebhookSignature.verify(
            body: request.body, timestamp: try XCTUnwrap(request.headers["Hera-Timestamp"]),
            signature: try XCTUnwrap(request.headers["Hera-Signature"]), secret: "s3cret", now: 1_733_000_100))
    }

    func testHeaderInjectionAndReservedHeadersArePermanentAndNotSent() {
        let url = "http://127.0.0.1:\(server.port)/status/200"
        let badHeaders: [[(String, String)]] = [
            [("X-Test", "a\r\nX-Injected: 1")], [("X-Test", "a\nb")], [("X-Te st", "a")], [("X:Test", "a")], [("", "a")],
            [("Host", "evil.example")], [("content-length", "0")], [("Transfer-Encoding", "chunked")],
        ]
        for headers in badHeaders {
            let outcome = loopbackClient().deliver(WebhookRequest(url: url, body: [], headers: headers))
            XCTAssertTrue(outcome.isPermanent, "\(headers): \(outcome)")
        }
        XCTAssertTrue(log.all.isEmpty)
    }
}

import HeraHTTP
import XCTest
@testable import HeraWebhook

/// HTTPS against a receiver whose certificate comes from a throwaway test CA.
/// Certificate failures are retryable (see the module's documentation) and send no request.
final class TLSDeliveryTests: XCTestCase {
    private var servers: [TLSTestServer] = []

    override func tearDown() {
        for server in servers { server.stop() }
    }

    private func start(certificate: KeyPath<TestCertificates, String>) throws -> (TLSTestServer, TestCertificates) {
        let certificates = try TestCertificates.load()
        let server = try TLSTestServer(certificate: certificates[keyPath: certificate], key: certificates.serverKey)
        servers.append(server)
        return (server, certificates)
    }

    func testTrustedCertificateIsDeliveredByNameAndByAddress() throws {
        let (server, certificates) = try start(certificate: \.server)
        let client = loopbackClient(caFile: certificates.caFile)
        for host in ["localhost", "127.0.0.1"] {
            let outcome = client.deliver(WebhookRequest(url: "https://\(host):\(server.port)/secure", body: Array("a=1".utf8)))
            XCTAssertEqual(outcome, .delivered(status: 200), host)
        }
        XCTAssertEqual(server.receivedHeads.count, 2)
        XCTAssertTrue(server.receivedHeads.allSatisfy { $0.hasPrefix("POST /secure HTTP/1.1\r\n") })
    }

    func testWrongHostnameIsNotDelivered() throws {
        let (server, certificates) = try start(certificate: \.wrongHost)
        let outcome = loopbackClient(caFile: certificates.caFile)
            .deliver(WebhookRequest(url: "https://localhost:\(server.port)/", body: []))
        XCTAssertTrue(outcome.isRetryable, "\(outcome)")
        XCTAssertTrue(outcome.reason.contains("certificate") && outcome.reason.contains("mismatch"), outcome.reason)
        XCTAssertEqual(server.receivedHeads, [])
    }

    func testUnknownCAIsNotDelivered() throws {
        let (server, _) = try start(certificate: \.server)
        let outcome = loopbackClient().deliver(WebhookRequest(url: "https://localhost:\(server.port)/", body: []))
        XCTAssertTrue(outcome.isRetryable, "\(outcome)")
        XCTAssertTrue(outcome.reason.contains("certificate"), outcome.reason)
        XCTAssertEqual(server.receivedHeads, [])
    }

    func testExpiredCertificateIsNotDelivered() throws {
        let (server, certificates) = try start(certificate: \.expired)
        let outcome = loopbackClient(caFile: certificates.caFile)
            .deliver(WebhookRequest(url: "https://localhost:\(server.port)/", body: []))
        XCTAssertTrue(outcome.isRetryable, "\(outcome)")
        XCTAssertTrue(outcome.reason.contains("expired"), outcome.reason)
        XCTAssertEqual(server.receivedHeads, [])
    }

    func testPlainHTTPReceiverOnHTTPSURLIsRetryable() throws {
        let server = try HTTPServer(host: "127.0.0.1", port: 0) { _ in HTTPResponse(status: 200) }
        server.start()
        defer { server.stop(grace: 0) }
        let (outcome, elapsed) = timed {
            loopbackClient(totalTimeout: 2).deliver(WebhookRequest(url: "https://127.0.0.1:\(server.port)/", body: []))
        }
        XCTAssertTrue(outcome.isRetryable, "\(outcome)")
        XCTAssertLessThan(elapsed, 3)
    }

    func testUnreadableCAFileIsRetryable() {
        let outcome = loopbackClient(caFile: "/nonexistent/ca.pem").deliver(WebhookRequest(url: "https://localhost:9/", body: []))
        XCTAssertTrue(outcome.isRetryable && outcome.reason.contains("CA file"), "\(outcome)")
    }
}

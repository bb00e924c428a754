import HeraHTTP
import XCTest
@testable import HeraWebhook

/// The address policy applied to real deliveries: refused by default, allowed by the operator flag.
final class SSRFGuardTests: XCTestCase {
    func testNonPublicDestinationsAreRefusedByDefault() {
        let client = WebhookClient(policy: WebhookPolicy(totalTimeout: 5))
        let hosts = [
            "127.0.0.1", "127.8.9.10", "localhost", "2130706433", "0x7f.1", "[::1]", "[::ffff:127.0.0.1]",
            "[::127.0.0.1]", "[::ffff:7f00:1]", "0.0.0.0", "[::]", "10.0.0.1", "172.16.5.4", "192.168.0.1",
            "169.254.169.254", "[::ffff:169.254.169.254]", "100.64.0.1", "224.0.0.1", "255.255.255.255",
            "[fe80::1]", "[fc00::1]", "[fd00::1]", "[ff02::1]", "192.0.0.1", "0.1.2.3", "[64:ff9b::a9fe:a9fe]",
            "[2002:a00:1::1]",
        ]
        for host in hosts {
            let outcome = client.deliver(WebhookRequest(url: "http://\(host):9/hook", body: []))
            XCTAssertTrue(outcome.isPermanent && outcome.reason.hasPrefix("refused: "), "\(host): \(outcome)")
        }
    }

    func testRefusalNamesHostAndAddress() {
        let outcome = WebhookClient(policy: WebhookPolicy()).deliver(WebhookRequest(url: "http://localhost:9/", body: []))
        XCTAssertTrue(outcome.reason.contains("localhost resolves only to private addresses"), outcome.reason)
        XCTAssertTrue(outcome.reason.contains("127.0.0.1 is loopback"), outcome.reason)
    }

    func testOperatorFlagAllowsLoopbackInEveryForm() throws {
        let server = try HTTPServer(host: "127.0.0.1", port: 0) { _ in HTTPResponse(status: 200) }
        server.start()
        defer { server.stop(grace: 0) }
        for host in ["127.0.0.1", "localhost", "2130706433", "[::ffff:127.0.0.1]"] {
            let outcome = loopbackClient().deliver(WebhookRequest(url: "http://\(host):\(server.port)/", body: []))
            XCTAssertEqual(outcome, .delivered(status: 200), host)
        }
    }
}

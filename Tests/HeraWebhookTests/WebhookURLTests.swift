import XCTest
@testable import HeraWebhook

final class WebhookURLTests: XCTestCase {
    func testParsesSchemeHostPortAndTarget() throws {
        let url = try WebhookURL(parsing: "HTTPS://Hooks.Example.com:8443/in/bound?x=1&y=2#frag")
        XCTAssertEqual(url.scheme, .https)
        XCTAssertEqual(url.host, "hooks.example.com")
        XCTAssertEqual(url.hostKind, .name)
        XCTAssertEqual(url.port, 8443)
        XCTAssertEqual(url.target, "/in/bound?x=1&y=2")
        XCTAssertEqual(url.hostHeader, "hooks.example.com:8443")
    }

    func testDefaultsPortAndPath() throws {
        let plain = try WebhookURL(parsing: "http://example.com")
        XCTAssertEqual(plain.port, 80)
        XCTAssertEqual(plain.target, "/")
        XCTAssertEqual(plain.hostHeader, "example.com")
        let secure = try WebhookURL(parsing: "https://example.com?q=1")
        XCTAssertEqual(secure.port, 443)
        XCTAssertEqual(secure.target, "/?q=1")
    }

    func testAddressLiterals() throws {
        let v4 = try WebhookURL(parsing: "http://192.0.2.7:81/")
        XCTAssertEqual(v4.hostKind, .ipv4)
        XCTAssertEqual(v4.host, "192.0.2.7")
        let v6 = try WebhookURL(parsing: "http://[2001:DB8::1]:8080/x")
        XCTAssertEqual(v6.hostKind, .ipv6)
        XCTAssertEqual(v6.host, "2001:db8::1")
        XCTAssertEqual(v6.hostHeader, "[2001:db8::1]:8080")
    }

    func testRejectsBadURLs() {
        let bad = [
            "ftp://example.com/", "example.com/hook", "http:/example.com", "http://", "http://:80/",
            "http://user:pass@example.com/", "http://user@example.com/", "http://example.com:0/",
            "http://example.com:65536/", "http://example.com:/", "http://example.com:8o/",
            "http://exa mple.com/", "http://example.com/a b", "http://example.com/\r\nX: y", "http://example.com/\u{7f}",
            "http://exämple.com/", "http://example.com/ä", "http://[::1/", "http://[::1]x/", "http://[fe80::1%25eth0]/",
            "http://[not-ipv6]/", "http://exa%6dple.com/", "http://example..com/", "http://a\\b.com/",
            "http://" + String(repeating: "a", count: 64) + ".com/",
            "http://example.com/" + String(repeating: "a", count: 2048),
        ]
        for text in bad {
            XCTAssertThrowsError(try WebhookURL(parsing: text), text.debugDescription)
        }
    }

    func testBadURLIsPermanent() {
        let outcome = WebhookClient(policy: WebhookPolicy()).deliver(WebhookRequest(url: "gopher://example.com/", body: []))
        XCTAssertTrue(outcome.isPermanent, "\(outcome)")
    }
}

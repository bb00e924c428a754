import XCTest
import HeraWebhook

final class WebhookSignatureTests: XCTestCase {
    private let body = Array("a=1&b=2".utf8)

    func testHeadersCarryIDTimestampAndKnownSignature() {
        let headers = WebhookSignature.headers(deliveryID: "dlv_42", timestamp: 1_733_000_000, body: body, secret: "whsec_test")
        XCTAssertEqual(headers.map(\.0), ["Hera-Delivery", "Hera-Timestamp", "Hera-Signature"])
        XCTAssertEqual(headers.map(\.1), [
            "dlv_42", "1733000000", "sha256=1f56b53c90a8d3b8d29fb4a9303fa6debc12ca54edc6de552696a044edeb3517",
        ])
    }

    func testVerifyAcceptsGenuineAndRejectsTampered() {
        let signature = WebhookSignature.signature(timestamp: 1_733_000_000, body: body, secret: "whsec_test")
        func verify(body: [UInt8] = Array("a=1&b=2".utf8), timestamp: String = "1733000000", signature: String,
                    secret: String = "whsec_test", now: Int = 1_733_000_010) -> Bool {
            WebhookSignature.verify(body: body, timestamp: timestamp, signature: signature, secret: secret, now: now)
        }
        XCTAssertTrue(verify(signature: signature))
        XCTAssertTrue(verify(signature: signature.uppercased().replacingOccurrences(of: "SHA256=", with: "sha256=")))
        XCTAssertFalse(verify(body: Array("a=1&b=3".utf8), signature: signature))
        XCTAssertFalse(verify(timestamp: "1733000001", signature: signature))
        XCTAssertFalse(verify(signature: signature, secret: "other"))
        XCTAssertFalse(verify(signature: signature, now: 1_733_000_000 + 301))
        XCTAssertFalse(verify(signature: String(signature.dropLast())))
        XCTAssertFalse(verify(signature: "sha1=" + signature.dropFirst(7)))
        XCTAssertFalse(verify(signature: "sha256=zz" + signature.dropFirst(9)))
        XCTAssertFalse(verify(timestamp: "soon", signature: signature))
    }
}

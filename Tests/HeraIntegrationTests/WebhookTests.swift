import Foundation
import HeraDB
import HeraHTTP
import HeraSupport
import XCTest

/// Webhooks: an outbox in PostgreSQL, delivered at least once by any gateway replica to a
/// receiver started here on loopback (gateways in tests allow private addresses).
final class WebhookTests: XCTestCase {
    var cluster: TestCluster!
    var client: TestClient!
    var receiver: Receiver!

    /// Records what arrives; answers from a script of statuses (then 200).
    final class Receiver: @unchecked Sendable {
        private let lock = NSLock()
        private var statuses: [Int]
        private(set) var received: [(deliveryID: String, timestamp: String, signature: String, body: String)] = []
        var server: HTTPServer!

        init(failFirst statuses: [Int]) throws {
            self.statuses = statuses
            server = try HTTPServer(host: "127.0.0.1", port: 0) { [weak self] request in
                self?.record(request) ?? HTTPResponse(status: 500)
            }
            server.start()
        }

        private func record(_ request: HTTPRequest) -> HTTPResponse {
            lock.lock()
            defer { lock.unlock() }
            received.append((request.headers["Hera-Delivery"] ?? "", request.headers["Hera-Timestamp"] ?? "",
                             request.headers["Hera-Signature"] ?? "", String(decoding: request.body, as: UTF8.self)))
            return HTTPResponse(status: statuses.isEmpty ? 200 : statuses.removeFirst())
        }

        var count: Int { lock.withLock { received.count } }
        var all: [(deliveryID: String, timestamp: String, signature: String, body: String)] { lock.withLock { received } }
        var url: String { "http://127.0.0.1:\(server.port)/hook" }
    }

    override func setUpWithError() throws {
        requireRoot()
        cluster = try TestCluster()
        try cluster.addNode("w1")
        client = try cluster.addGateway()
    }

    override func tearDown() {
        receiver?.server.stop(grace: 0)
        cluster?.shutdown()
    }

    func testRunningSandboxIsAnnouncedWithIdSecretAndASignature() throws {
        receiver = try Receiver(failFirst: [])
        let id = try cluster.createSandbox(client, extra: [("async", "true"), ("webhook_url", receiver.url),
                                                          ("webhook_secret", "s3cret+&=")])
        XCTAssertTrue(cluster.eventually(within: 10) { receiver.count == 1 })
        let delivery = try XCTUnwrap(receiver.all.first)
        XCTAssertEqual(delivery.body, "id=\(id)&secret=s3cret%2B%26%3D&state=running")
        let expected = "sha256=" + Crypto.hex(Crypto.hmacSHA256(key: Array("s3cret+&=".utf8),
                                                                message: Array("\(delivery.timestamp).\(delivery.body)".utf8)))
        XCTAssertEqual(delivery.signature, expected)
        // The secret is never shown back.
        XCTAssertFalse(try client.get("/sandbox/\(id)").text.contains("s3cret"))
    }

    func testFailingReceiverGetsTheSameDeliveryIDUntilItSucceeds() throws {
        receiver = try Receiver(failFirst: [500, 503])
        _ = try cluster.createSandbox(client, extra: [("async", "true"), ("webhook_url", receiver.url), ("webhook_secret", "k")])
        XCTAssertTrue(cluster.eventually(within: 20) { receiver.count == 3 }, "got \(receiver.count) attempts")
        XCTAssertEqual(Set(receiver.all.map(\.deliveryID)).count, 1)
        let state = try cluster.connection.query("SELECT state, attempts FROM webhook_deliveries").first
        XCTAssertEqual(state?["state"], "delivered")
        XCTAssertEqual(state?.int("attempts"), 3)
    }

    /// A replica that claimed a delivery and died: its lease runs out and another delivers it.
    func testADeliveryClaimedByADeadReplicaIsDeliveredByAnother() throws {
        receiver = try Receiver(failFirst: [])
        cluster.gateways[0].stop(grace: 0)   // no replica delivers while we play the dead one
        try cluster.connection.query("""
            INSERT INTO sandboxes (owner_id, creator_id, template_id, state, finish_reason, finished_at, memory_mb, timeout_s,
                                   webhook_url, webhook_secret)
            VALUES (1, 1, 1, 'finished', 'killed', now(), 64, 60, $1, 'k')
            """, [receiver.url])
        try cluster.connection.query("""
            INSERT INTO webhook_deliveries (sandbox_id, url, body) SELECT id, webhook_url, 'id=' || id FROM sandboxes
            """)
        XCTAssertEqual(try cluster.connection.query("SELECT count(*) AS n FROM webhook_claim(1, 10)").first?.int("n"), 1)
        try cluster.addGateway()
        XCTAssertTrue(cluster.eventually(within: 8) { receiver.count == 1 })
        XCTAssertEqual(try cluster.connection.query("SELECT attempts FROM webhook_deliveries").first?.int("attempts"), 2)
    }

    func testTwoReplicasDeliverEachWebhookOnce() throws {
        receiver = try Receiver(failFirst: [])
        try cluster.addGateway()
        for _ in 0..<12 {
            _ = try cluster.createSandbox(client, memory: 32, extra: [("async", "true"), ("webhook_url", receiver.url)])
        }
        XCTAssertTrue(cluster.eventually(within: 15) { receiver.count >= 12 })
        usleep(500_000)
        XCTAssertEqual(receiver.count, 12)
        XCTAssertEqual(Set(receiver.all.map(\.deliveryID)).count, 12)
    }

    func testBadWebhookURLIsRefusedAtOnce() throws {
        for url in ["ftp://x/y", "http://", "not a url", "http://user:pw@example.com/"] {
            let response = try client.post("/sandbox/", [("memory", "64"), ("timeout", "10"), ("template", "busybox"),
                                                         ("async", "true"), ("webhook_url", url)])
            XCTAssertEqual(response.status, 400, url)
        }
    }
}

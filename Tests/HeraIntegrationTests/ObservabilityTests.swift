import Foundation
import XCTest

/// The access log, /metrics and /readyz of a gateway, the first two through a real `hera gateway` process.
final class ObservabilityTests: XCTestCase {
    var cluster: TestCluster!

    override func setUpWithError() throws {
        requireRoot()
        cluster = try TestCluster()
    }

    override func tearDown() { cluster?.shutdown() }

    func testAccessLogHasOneLinePerRequestWithItsIDAndNeverTheKeyOrSecrets() throws {
        let gateway = try GatewayProcess(databaseURL: cluster.databaseURL)
        defer { gateway.stop() }
        let client = TestClient(port: gateway.port, user: cluster.account, key: cluster.key)
        let webhookSecret = "webhook-secret-\(UUID().uuidString)"
        let body = "memory=64&timeout=60&template=busybox&async=true&webhook_url=http%3A%2F%2F127.0.0.1%3A9%2F&webhook_secret=\(webhookSecret)"
        let created = try client.send("POST", "/sandbox/", body: Array(body.utf8), contentType: "application/x-www-form-urlencoded",
                                      extraHeaders: [("X-Request-Id", "trace-42")])
        XCTAssertEqual(created.headers["X-Request-Id"], "trace-42")
        let wrongKey = "wrong-key-\(UUID().uuidString)"
        XCTAssertEqual(try TestClient(port: gateway.port, user: cluster.account, key: wrongKey).get("/sandbox/").status, 401)
        XCTAssertEqual(try client.get("/sandbox/\(UUID().uuidString)").status, 404)
        gateway.terminate()
        gateway.process.waitUntilExit()

        let log = gateway.log
        let credentials = Data("\(cluster.account):\(cluster.key)".utf8).base64EncodedString()
        for secret in [cluster.key, wrongKey, credentials, webhookSecret, "Authorization", "Basic "] {
            XCTAssertFalse(log.contains(secret), "the log holds \(secret)")
        }
        let requests = gateway.logLines().filter { $0["msg"] as? String == "request" }
        XCTAssertEqual(requests.count, 3, log)
        let create = try XCTUnwrap(requests.first { $0["request_id"] as? String == "trace-42" }, log)
        XCTAssertEqual(create["method"] as? String, "POST")
        XCTAssertEqual(create["route"] as? String, "POST /sandbox/")
        XCTAssertEqual(create["status"] as? Int, created.status)
        XCTAssertEqual(create["account"] as? String, cluster.account)
        XCTAssertNotNil(create["duration_ms"] as? Double)
        XCTAssertTrue(requests.contains { $0["route"] as? String == "GET /sandbox/:id" && $0["status"] as? Int == 404 }, log)
        XCTAssertTrue(requests.contains { $0["status"] as? Int == 401 && $0["account"] == nil }, log)
        XCTAssertTrue(requests.allSatisfy { ($0["request_id"] as? String)?.isEmpty == false }, log)
    }

    func testReadyzAnswers503WhileDrainingThenTheGatewayStops() throws {
        let gateway = try GatewayProcess(databaseURL: cluster.databaseURL, extraArguments: ["--drain-seconds", "2"])
        defer { gateway.stop() }
        let anonymous = TestClient(port: gateway.port)
        XCTAssertEqual(try anonymous.get("/readyz").status, 200)
        let signalled = Date()
        gateway.terminate()
        XCTAssertTrue(cluster.eventually(within: 1) { (try? anonymous.get("/readyz").status) == 503 })
        XCTAssertEqual(try anonymous.get("/healthz").status, 200, "still serving while draining")
        gateway.process.waitUntilExit()
        XCTAssertGreaterThanOrEqual(-signalled.timeIntervalSinceNow, 2)
        XCTAssertLessThan(-signalled.timeIntervalSinceNow, 10)
    }

    func testMetricsCountRequestsReservationsAndReadTheClusterState() throws {
        let client = try cluster.addGateway()
        let form = [("memory", "64"), ("timeout", "60"), ("template", TestCluster.templateName)]
        XCTAssertEqual(try client.post("/sandbox/", form).apiStatus, "ResourceNotAvailable")   // no node yet
        try cluster.addNode("metrics-node")
        _ = try cluster.createSandbox(client)
        let page = try TestClient(port: client.port).get("/metrics")
        XCTAssertEqual(page.status, 200)
        XCTAssertEqual(page.headers["Content-Type"], "text/plain; version=0.0.4; charset=utf-8")
        let text = page.text
        for line in ["hera_reservations_total{outcome=\"ResourceNotAvailable\"} 1",
                     "hera_reservations_total{outcome=\"ok\"} 1",
                     "hera_http_requests_total{route=\"POST /sandbox/\",status=\"503\"} 1",
                     "hera_http_request_duration_seconds_count{route=\"POST /sandbox/\"} 2",
                     "hera_db_up 1", "hera_ready 1", "hera_queue_depth 0", "hera_db_pool_waiting 0"] {
            XCTAssertTrue(text.contains(line + "\n"), "missing \(line) in\n\(text)")
        }
        XCTAssertTrue(text.range(of: "hera_sandboxes\\{state=\"(assigned|running)\"\\} 1\n", options: .regularExpression) != nil, text)
        XCTAssertTrue(text.contains("# TYPE hera_webhook_deliveries_total counter"), text)
    }
}

import Foundation
import XCTest

/// POST /sandbox/:id/timeout moves expires_at and the node honours it.
final class TimeoutExtensionTests: ClusterTestCase {
    override var maxTimeout: Int { 60 }

    func testExtendedSandboxOutlivesItsFirstTimeoutAndEndsAtTheNewOne() throws {
        let id = try cluster.createSandbox(client, timeout: 2)
        XCTAssertTrue(try cluster.eventually(within: 10) { try cluster.sandboxState(client, id) == "running" })
        let extended = try client.post("/sandbox/\(id)/timeout", [("timeout", "5")])
        XCTAssertEqual(extended.status, 200, extended.text)
        XCTAssertEqual(extended.json["timeout"] as? Int, 5)
        sleep(3)
        XCTAssertEqual(try cluster.sandboxState(client, id), "running", "ended at its first timeout")
        XCTAssertEqual(try client.post("/sandbox/\(id)/exec", [("command", "echo alive")]).json["stdout"] as? String, "alive\n")
        let ended = try client.post("/sandbox/\(id)/wait", [("timeout", "10")]).json
        XCTAssertEqual(ended["finish_reason"] as? String, "expired")
        let lived = try cluster.connection.query(
            "SELECT extract(epoch FROM finished_at - started_at)::float8 AS s FROM sandboxes WHERE id = $1", [id]).first?.double("s")
        XCTAssertEqual(lived ?? 0, 5, accuracy: 1.5)
    }

    func testTimeoutIsBoundedAndOnlyForLiveSandboxes() throws {
        let id = try cluster.createSandbox(client)
        XCTAssertEqual(try client.post("/sandbox/\(id)/timeout", [("timeout", "61")]).status, 400)
        XCTAssertEqual(try client.post("/sandbox/\(id)/timeout").status, 400)
        XCTAssertEqual(try client.post("/sandbox/\(id)/kill").status, 200)
        XCTAssertEqual(try client.post("/sandbox/\(id)/timeout", [("timeout", "30")]).status, 410)
    }
}

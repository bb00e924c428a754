import Foundation
import HeraDB
import HeraAdmin
import XCTest

/// Per-account limits on live sandboxes and their memory, checked in the reservation's own transaction.
final class QuotaTests: XCTestCase {
    var cluster: TestCluster!

    override func setUpWithError() throws {
        cluster = try TestCluster()
    }

    override func tearDown() {
        cluster.shutdown()
    }

    private func setQuota(_ account: String, sandboxes: Int?, memory: Int?) throws {
        try cluster.connection.query("UPDATE accounts SET max_sandboxes = $2, max_memory_mb = $3 WHERE name = $1",
                                     [account, sandboxes.map(String.init), memory.map(String.init)])
    }

    func testSandboxAndMemoryQuotasNameTheQuotaAndFreeUpWhenSandboxesEnd() throws {
        _ = try cluster.registerNode("n1", memory: 4000, slots: 16)
        try setQuota(cluster.account, sandboxes: 2, memory: 250)
        let first = try XCTUnwrap(try cluster.reserve(memory: 100).id)
        XCTAssertEqual(try cluster.reserve(memory: 100).status, "ok")
        let third = try cluster.reserve(memory: 16)
        XCTAssertEqual(third.status, "QuotaExceeded")
        XCTAssertTrue(third.message?.contains("max-sandboxes") == true, third.message ?? "")
        try cluster.finish(first, "killed")
        let tooBig = try cluster.reserve(memory: 200)
        XCTAssertEqual(tooBig.status, "QuotaExceeded")
        XCTAssertTrue(tooBig.message?.contains("max-memory") == true, tooBig.message ?? "")
        XCTAssertEqual(try cluster.reserve(memory: 150).status, "ok")
    }

    func testParentQuotaCoversChildren() throws {
        _ = try cluster.registerNode("n1", memory: 4000, slots: 16)
        _ = try Admin.accountCreate(cluster.connection, name: "child-a", parent: cluster.account)
        _ = try Admin.accountCreate(cluster.connection, name: "child-b", parent: cluster.account)
        try setQuota(cluster.account, sandboxes: 3, memory: nil)
        XCTAssertEqual(try cluster.reserve(memory: 16, owner: "child-a").status, "ok")
        XCTAssertEqual(try cluster.reserve(memory: 16, owner: "child-b").status, "ok")
        XCTAssertEqual(try cluster.reserve(memory: 16).status, "ok")
        let refused = try cluster.reserve(memory: 16, owner: "child-a")
        XCTAssertEqual(refused.status, "QuotaExceeded")
        XCTAssertTrue(refused.message?.contains("account alice") == true, refused.message ?? "")
        // The child's own quota applies too, below its parent's.
        try setQuota(cluster.account, sandboxes: nil, memory: nil)
        try setQuota("child-b", sandboxes: 1, memory: nil)
        XCTAssertEqual(try cluster.reserve(memory: 16, owner: "child-b").status, "QuotaExceeded")
        XCTAssertEqual(try cluster.reserve(memory: 16, owner: "child-a").status, "ok")
    }

    /// 100 concurrent creates through two gateways against a quota of 10: exactly 10 succeed,
    /// the rest are 429 QuotaExceeded, and at no point do more than 10 exist.
    func testConcurrentCreatesThroughTwoGatewaysNeverExceedTheQuota() throws {
        _ = try cluster.registerNode("q1", memory: 100 * 64, slots: 100)
        try setQuota(cluster.account, sandboxes: 10, memory: nil)
        let clients = [try cluster.addGateway(), try cluster.addGateway()]
        let results = ConcurrentResults()
        concurrently(100) { index in
            do {
                let response = try clients[index % 2].post("/sandbox/", [("memory", "64"), ("timeout", "60"), ("template", "busybox")])
                results.add(response.status, response.json["id"] as? String)
            } catch {
                results.add(-1, nil)
            }
        }
        XCTAssertEqual(results.count(200), 10, "statuses: \(results.statuses)")
        XCTAssertEqual(results.count(429), 90, "statuses: \(results.statuses)")
        let live = try cluster.connection.query("SELECT count(*) AS n FROM sandboxes WHERE state <> 'finished'").first?.int("n")
        XCTAssertEqual(live, 10)
        let refused = try clients[0].post("/sandbox/", [("memory", "64"), ("timeout", "60"), ("template", "busybox")])
        XCTAssertEqual(refused.status, 429)
        XCTAssertEqual(refused.apiStatus, "QuotaExceeded")
        XCTAssertTrue((refused.json["message"] as? String)?.contains("max-sandboxes") == true, refused.text)
    }
}

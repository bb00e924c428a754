import Foundation
import HeraDB
import XCTest

/// Async creation: a durable queue in PostgreSQL that any gateway replica serves.
/// Nodes here are rows with a fresh heartbeat and no worker: sandboxes stay `assigned`, which
/// is all the queue needs; tests free capacity with sandbox_finish as a node would.
final class QueueTests: XCTestCase {
    var cluster: TestCluster!
    var client: TestClient!

    override func setUpWithError() throws {
        cluster = try TestCluster()
        client = try cluster.addGateway(maxQueued: 3, backfillLimit: 1)
    }

    override func tearDown() {
        cluster?.shutdown()
    }

    private func create(memory: Int = 64, async: Bool = true, _ extra: [(String, String)] = []) throws -> TestResponse {
        try client.post("/sandbox/", [("memory", String(memory)), ("timeout", "60"), ("template", "busybox"),
                                      ("async", async ? "true" : "false")] + extra)
    }

    private func id(_ response: TestResponse, file: StaticString = #filePath, line: UInt = #line) throws -> String {
        try XCTUnwrap(response.json["id"] as? String, response.text, file: file, line: line)
    }

    private func state(_ id: String) throws -> String { try cluster.sandboxState(client, id) }

    private func assignedWithin(_ seconds: Double, _ id: String) throws -> Bool {
        try cluster.eventually(within: seconds) { try state(id) == "assigned" }
    }

    func testAsyncWithRoomIsAssignedAtOnce() throws {
        _ = try cluster.registerNode("q1", memory: 1000, slots: 4)
        XCTAssertEqual(try state(try id(create())), "assigned")
    }

    func testQueuedRequestsStartInPriorityThenArrivalOrder() throws {
        _ = try cluster.registerNode("q1", memory: 1000, slots: 1)
        let holder = try id(create(async: false))
        let low = try id(create([("priority", "5")]))
        let first = try id(create([("priority", "1")]))
        let second = try id(create([("priority", "1")]))
        let shown = try client.get("/sandbox/\(low)").json
        XCTAssertEqual(shown["state"] as? String, "queued")
        XCTAssertEqual(shown["priority"] as? Int, 5)
        XCTAssertEqual(shown["queue_position"] as? Int, 3)
        XCTAssertEqual(try client.get("/sandbox/\(first)").json["queue_position"] as? Int, 1)

        var previous = holder
        for next in [first, second, low] {
            try cluster.finish(previous, "killed")
            XCTAssertTrue(try assignedWithin(3, next), "\(next) should be next")
            let others = [first, second, low].filter { $0 != next && (try? state($0)) == "assigned" }
            XCTAssertEqual(others.count, 0, "only one request fits at a time")
            previous = next
        }
    }

    func testAgingLetsAnOldLowPriorityRequestOvertake() throws {
        _ = try cluster.registerNode("q1", memory: 1000, slots: 1)
        let holder = try id(create(async: false))
        let aging = try id(create([("priority", "10"), ("priority_growth", "100")]))
        usleep(300_000)
        let urgent = try id(create([("priority", "0")]))
        try cluster.finish(holder, "killed")
        XCTAssertTrue(try assignedWithin(3, aging))
        XCTAssertEqual(try state(urgent), "queued")
    }

    func testKillCancelsAQueuedRequest() throws {
        _ = try cluster.registerNode("q1", memory: 1000, slots: 1)
        _ = try id(create(async: false))
        let queued = try id(create())
        let killed = try client.post("/sandbox/\(queued)/kill")
        XCTAssertEqual(killed.status, 200)
        XCTAssertEqual(killed.json["state"] as? String, "finished")
        XCTAssertEqual(killed.json["finish_reason"] as? String, "cancelled")
    }

    func testQueueTimeoutCancels() throws {
        _ = try cluster.registerNode("q1", memory: 1000, slots: 1)
        _ = try id(create(async: false))
        let queued = try id(create([("queue_timeout", "1")]))
        XCTAssertTrue(try cluster.eventually(within: 4) { try state(queued) == "finished" })
        let shown = try client.get("/sandbox/\(queued)").json
        XCTAssertEqual(shown["finish_reason"] as? String, "cancelled")
        XCTAssertEqual(shown["finish_detail"] as? String, "queue_timeout")
    }

    func testPerAccountCapIsQueueFull() throws {
        _ = try cluster.registerNode("q1", memory: 1000, slots: 1)
        _ = try id(create(async: false))
        for _ in 0..<3 { XCTAssertEqual(try create().status, 200) }
        let refused = try create()
        XCTAssertEqual(refused.status, 429)
        XCTAssertEqual(refused.apiStatus, "QueueFull")
    }

    func testRequestNoNodeCouldEverTakeIsRefusedNotQueued() throws {
        _ = try cluster.registerNode("q1", memory: 1000, slots: 1)
        let refused = try create(memory: 5000)
        XCTAssertEqual(refused.status, 503)
        XCTAssertTrue((refused.json["message"] as? String ?? "").contains("5000"))
        let none = try cluster.connection.query("SELECT count(*) AS n FROM sandboxes WHERE state = 'queued'").first?.int("n")
        XCTAssertEqual(none, 0)
    }

    func testSyncCreateOnAFullClusterStillFailsAtOnce() throws {
        _ = try cluster.registerNode("q1", memory: 1000, slots: 1)
        _ = try id(create(async: false))
        XCTAssertEqual(try create(async: false).status, 503)
    }

    /// The head (a whole-node request) does not fit while small ones run; small ones that fit
    /// go first only until the head has waited the backfill limit (1 s here); after that the
    /// capacity they free accumulates for the head, which then runs.
    func testBackfillStopsOnceTheHeadHasWaitedAndTheHeadRuns() throws {
        _ = try cluster.registerNode("q1", memory: 1000, slots: 8)
        let running = try id(create(memory: 100, async: false))
        let head = try id(create(memory: 100, [("whole_node", "true"), ("priority", "0")]))
        let early = try id(create(memory: 100, [("priority", "1")]))
        XCTAssertTrue(try assignedWithin(3, early), "a small request that fits is backfilled at first")
        usleep(1_200_000)
        let late = try id(create(memory: 100, [("priority", "1")]))
        usleep(1_500_000)
        XCTAssertEqual(try state(late), "queued", "no backfill past a head that has waited the limit")
        try cluster.finish(running, "killed")
        try cluster.finish(early, "killed")
        XCTAssertTrue(try assignedWithin(3, head), "the head runs once the node is free")
        XCTAssertEqual(try state(late), "queued")
        try cluster.checkReservationsMatchSandboxes()
    }
}

import Foundation
import HeraDB
import XCTest

/// Capacity is reserved and released in one transaction, never overbooked, never leaked.
final class ReservationTests: XCTestCase {
    var cluster: TestCluster!

    override func setUpWithError() throws {
        cluster = try TestCluster()
    }

    override func tearDown() {
        cluster?.shutdown()
    }

    private func reserved(_ node: Int) throws -> (memory: Int, slots: Int) {
        let row = try cluster.connection.query("SELECT memory_reserved_mb, slots_reserved FROM nodes WHERE id = $1", [String(node)]).first
        return (row?.int("memory_reserved_mb") ?? -1, row?.int("slots_reserved") ?? -1)
    }

    func testReserveThenFinishReleasesCapacity() throws {
        let node = try cluster.registerNode("n1", memory: 1000, slots: 4)
        let created = try cluster.reserve(memory: 300)
        XCTAssertEqual(created.status, "ok")
        XCTAssertEqual(try reserved(node).memory, 300)
        XCTAssertEqual(try reserved(node).slots, 1)
        let finished = try cluster.connection.query("SELECT sandbox_finish($1, 'killed', NULL) AS done", [created.id]).first
        XCTAssertEqual(finished?.bool("done"), true)
        XCTAssertEqual(try reserved(node).memory, 0)
        XCTAssertEqual(try reserved(node).slots, 0)
        // Finishing twice releases nothing twice.
        let again = try cluster.connection.query("SELECT sandbox_finish($1, 'killed', NULL) AS done", [created.id]).first
        XCTAssertEqual(again?.bool("done"), false)
        XCTAssertEqual(try reserved(node).memory, 0)
    }

    func testFullClusterAnswersResourceNotAvailable() throws {
        _ = try cluster.registerNode("n1", memory: 500, slots: 4)
        XCTAssertEqual(try cluster.reserve(memory: 400).status, "ok")
        XCTAssertEqual(try cluster.reserve(memory: 200).status, "ResourceNotAvailable")
        XCTAssertEqual(try cluster.reserve(memory: 100).status, "ok")
    }

    func testWholeNodeTakesAnEmptyNodeAndKeepsOthersOff() throws {
        let node = try cluster.registerNode("n1", memory: 1000, slots: 4)
        let whole = try cluster.reserve(memory: 100, whole: true)
        XCTAssertEqual(whole.status, "ok")
        XCTAssertEqual(try reserved(node).memory, 1000)
        XCTAssertEqual(try cluster.reserve(memory: 16).status, "ResourceNotAvailable")
        try cluster.connection.query("SELECT sandbox_finish($1, 'killed', NULL)", [whole.id])
        XCTAssertEqual(try reserved(node).memory, 0)
    }

    func testStaleNodeTakesNoSandbox() throws {
        let node = try cluster.registerNode("n1", memory: 1000, slots: 4)
        try cluster.connection.query("UPDATE nodes SET heartbeat_at = now() - interval '1 minute' WHERE id = $1", [String(node)])
        XCTAssertEqual(try cluster.reserve(memory: 100).status, "ResourceNotAvailable")
    }

    func testCapacityConstraintRejectsOverbooking() throws {
        let node = try cluster.registerNode("n1", memory: 100, slots: 1)
        XCTAssertThrowsError(try cluster.connection.query(
            "UPDATE nodes SET memory_reserved_mb = 101 WHERE id = $1", [String(node)])) { error in
            XCTAssertEqual((error as? PGError)?.sqlState, PGError.checkViolation)
        }
    }

    /// 200 concurrent creates through two gateways against two real nodes with room for 16:
    /// exactly 16 succeed, nothing is overbooked, and once all are killed nothing stays reserved.
    func testConcurrentCreatesNeverOverbookAndKillingAllReleasesEverything() throws {
        requireRoot()
        try cluster.addNode("c1", memoryMB: 1024, slots: 8)
        try cluster.addNode("c2", memoryMB: 1024, slots: 8)
        let clients = [try cluster.addGateway(), try cluster.addGateway()]
        let results = ConcurrentResults()
        concurrently(200) { index in
            do {
                let response = try clients[index % 2].post("/sandbox/", [("memory", "64"), ("timeout", "120"), ("template", "busybox")])
                results.add(response.status, response.json["id"] as? String)
            } catch {
                results.add(-1, nil)
            }
        }
        XCTAssertEqual(results.count(200), 16, "statuses: \(results.statuses)")
        XCTAssertEqual(results.count(503), 184, "statuses: \(results.statuses)")
        try cluster.checkReservationsMatchSandboxes()

        for id in results.ids {
            let killed = try clients[0].post("/sandbox/\(id)/kill")
            XCTAssertEqual(killed.status, 200)
        }
        let released = try cluster.eventually(within: 20) {
            try cluster.connection.query("SELECT sum(memory_reserved_mb) + sum(slots_reserved) AS r FROM nodes").first?.int("r") == 0
        }
        XCTAssertTrue(released, "reservations left after killing every sandbox")
        let unfinished = try cluster.connection.query("SELECT count(*) AS n FROM sandboxes WHERE state <> 'finished'").first?.int("n")
        XCTAssertEqual(unfinished, 0)
        try cluster.checkReservationsMatchSandboxes()
    }
}

/// Runs `body` on `count` threads at once and waits for all of them.
func concurrently(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
    let group = DispatchGroup()
    for index in 0..<count {
        group.enter()
        let thread = Thread {
            body(index)
            group.leave()
        }
        thread.stackSize = 256 << 10
        thread.start()
    }
    group.wait()
}

final class ConcurrentResults: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var statuses: [Int] = []
    private(set) var ids: [String] = []

    func add(_ status: Int, _ id: String?) {
        lock.lock()
        statuses.append(status)
        if let id { ids.append(id) }
        lock.unlock()
    }

    func count(_ status: Int) -> Int {
        lock.lock()
        defer { lock.unlock() }
        return statuses.filter { $0 == status }.count
    }
}

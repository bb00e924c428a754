import Foundation
import HeraDB
import XCTest

/// One usage row per finished sandbox, written with its end; MB-seconds = reserved memory × lifetime.
final class UsageTests: XCTestCase {
    var cluster: TestCluster!

    override func setUpWithError() throws {
        cluster = try TestCluster()
    }

    override func tearDown() {
        cluster.shutdown()
    }

    private func usage(_ id: String) throws -> PGRow? {
        try cluster.connection.query("""
            SELECT u.*, extract(epoch FROM u.ended_at - u.started_at) AS lifetime, s.finished_at = u.ended_at AS ends_at_finish,
                   (SELECT sum(h.mb_seconds) FROM sandbox_usage_hours h WHERE h.sandbox_id = u.sandbox_id) AS hours_sum,
                   (SELECT count(*) FROM sandbox_usage WHERE sandbox_id = u.sandbox_id) AS rows
            FROM sandbox_usage u JOIN sandboxes s ON s.id = u.sandbox_id WHERE u.sandbox_id = $1
            """, [id]).first
    }

    /// Through a real node: the test's own clock brackets the lifetime the database charged.
    func testKilledSandboxIsChargedForItsLifetime() throws {
        requireRoot()
        try cluster.addNode("u1")
        let client = try cluster.addGateway()
        let id = try cluster.createSandbox(client, memory: 96)
        XCTAssertTrue(try cluster.eventually(within: 10) { try cluster.sandboxState(client, id) == "running" })
        let runningSeen = Date()
        usleep(1_500_000)
        XCTAssertEqual(try client.post("/sandbox/\(id)/kill").status, 200)
        let observed = Date().timeIntervalSince(runningSeen)
        let row = try XCTUnwrap(try usage(id))
        XCTAssertEqual(row["finish_reason"], "killed")
        XCTAssertEqual(row.int("memory_mb"), 96)
        let lifetime = try XCTUnwrap(row.double("lifetime"))
        XCTAssertEqual(lifetime, observed, accuracy: 0.5)
        XCTAssertEqual(row.double("mb_seconds") ?? 0, 96 * lifetime, accuracy: 0.01)
        XCTAssertEqual(row.double("hours_sum") ?? 0, row.double("mb_seconds") ?? -1, accuracy: 0.01)
        XCTAssertEqual(row.bool("ends_at_finish"), true)
        // The node measures what its cgroup used; an idle sandbox uses little CPU but some memory.
        XCTAssertLessThan(try XCTUnwrap(row.double("cpu_seconds")), lifetime)
        XCTAssertGreaterThan(try XCTUnwrap(row.int("peak_memory_mb")), 0)
    }

    func testExpiredSandboxIsChargedForItsTimeout() throws {
        requireRoot()
        try cluster.addNode("u1")
        let client = try cluster.addGateway()
        let id = try cluster.createSandbox(client, memory: 64, timeout: 1)
        XCTAssertTrue(try cluster.eventually(within: 15) { try cluster.sandboxState(client, id) == "finished" })
        let row = try XCTUnwrap(try usage(id))
        XCTAssertEqual(row["finish_reason"], "expired")
        let lifetime = try XCTUnwrap(row.double("lifetime"))
        XCTAssertGreaterThanOrEqual(lifetime, 1)
        XCTAssertLessThan(lifetime, 3, "expiry is enforced within a small bound")
        XCTAssertEqual(row.double("mb_seconds") ?? 0, 64 * lifetime, accuracy: 0.01)
    }

    func testSandboxThatNeverStartedCostsNothingAndSaysSo() throws {
        _ = try cluster.registerNode("n1", memory: 1000, slots: 4)
        for reason in ["failed", "cancelled", "killed"] {
            let id = try XCTUnwrap(try cluster.reserve(memory: 100).id)
            XCTAssertTrue(try cluster.finish(id, reason))
            let row = try XCTUnwrap(try usage(id))
            XCTAssertEqual(row.double("mb_seconds"), 0)
            XCTAssertNil(row["started_at"])
            XCTAssertEqual(row["finish_reason"], reason)
            XCTAssertEqual(row.int("hours_sum"), nil, "no hour is charged")
            let view = try cluster.connection.query("SELECT never_started, mb_seconds FROM usage_by_sandbox WHERE sandbox_id = $1", [id]).first
            XCTAssertEqual(view?.bool("never_started"), true)
            XCTAssertEqual(view?.double("mb_seconds"), 0)
        }
    }

    /// A lost sandbox is charged up to the moment it was declared lost, cut at each UTC hour.
    func testLostSandboxIsChargedUntilDeclaredLostAndCutIntoHours() throws {
        _ = try cluster.registerNode("n1", memory: 1000, slots: 4)
        let id = try XCTUnwrap(try cluster.reserve(memory: 200).id)
        try cluster.markRunning(id, secondsAgo: 5400)
        XCTAssertTrue(try cluster.finish(id, "lost"))
        let row = try XCTUnwrap(try usage(id))
        XCTAssertEqual(row["finish_reason"], "lost")
        XCTAssertEqual(row.bool("ends_at_finish"), true)
        XCTAssertEqual(row.double("mb_seconds") ?? 0, 200 * 5400, accuracy: 200 * 1)
        XCTAssertEqual(row.double("hours_sum") ?? 0, row.double("mb_seconds") ?? -1, accuracy: 0.01)
        let hours = try cluster.connection.query("SELECT count(*) AS n FROM sandbox_usage_hours WHERE sandbox_id = $1", [id]).first?.int("n")
        XCTAssertTrue(hours == 2 || hours == 3, "90 minutes touch 2 or 3 hours, got \(hours ?? -1)")
    }

    func testNoSandboxIsChargedTwice() throws {
        _ = try cluster.registerNode("n1", memory: 1000, slots: 4)
        let id = try XCTUnwrap(try cluster.reserve(memory: 100).id)
        try cluster.markRunning(id, secondsAgo: 10)
        XCTAssertTrue(try cluster.finish(id, "killed"))
        XCTAssertFalse(try cluster.finish(id, "lost"))
        XCTAssertEqual(try usage(id)?.int("rows"), 1)
        XCTAssertEqual(try usage(id)?["finish_reason"], "killed")
        XCTAssertThrowsError(try cluster.connection.query("SELECT usage_record(s) FROM sandboxes s WHERE id = $1", [id])) { error in
            XCTAssertEqual((error as? PGError)?.sqlState, PGError.uniqueViolation)
        }
    }

    /// A running sandbox shows in the views before it ends, charged up to now.
    func testRunningSandboxShowsInTheViewsUpToNow() throws {
        _ = try cluster.registerNode("n1", memory: 1000, slots: 4)
        let id = try XCTUnwrap(try cluster.reserve(memory: 100).id)
        try cluster.markRunning(id, secondsAgo: 1800)
        let row = try cluster.connection.query("SELECT finished, mb_seconds FROM usage_by_sandbox WHERE sandbox_id = $1", [id]).first
        XCTAssertEqual(row?.bool("finished"), false)
        XCTAssertEqual(row?.double("mb_seconds") ?? 0, 100 * 1800, accuracy: 100 * 2)
        let hourly = try cluster.connection.query(
            "SELECT sum(mb_seconds) AS total FROM usage_by_account_hour WHERE account = $1", [cluster.account]).first
        XCTAssertEqual(hourly?.double("total") ?? 0, 100 * 1800, accuracy: 100 * 2)
    }

    /// Each hour is priced at the price in force then; a new price leaves past hours alone.
    func testCostUsesThePriceOfEachHour() throws {
        _ = try cluster.registerNode("n1", memory: 1000, slots: 4)
        try cluster.connection.query("""
            INSERT INTO prices (valid_from, per_mb_second) VALUES
                (utc_hour(now()) - interval '1 day', 0.001), (utc_hour(now()) - interval '1 hour', 0.002)
            """)
        let id = try XCTUnwrap(try cluster.reserve(memory: 20).id)
        try cluster.connection.query("""
            UPDATE sandboxes SET state = 'running', started_at = utc_hour(now()) - interval '2 hours',
                                 expires_at = now() + interval '1 hour' WHERE id = $1
            """, [id])
        XCTAssertTrue(try cluster.finish(id, "killed"))
        let row = try cluster.connection.query("""
            SELECT sum(cost) AS cost, sum(mb_seconds) AS mb,
                   sum(mb_seconds) FILTER (WHERE hour < utc_hour(now()) - interval '1 hour') AS before_change
            FROM usage_by_sandbox_hour WHERE sandbox_id = $1
            """, [id]).first
        let before = try XCTUnwrap(row?.double("before_change")), all = try XCTUnwrap(row?.double("mb"))
        XCTAssertEqual(before, 20 * 3600, accuracy: 0.01)
        XCTAssertEqual(row?.double("cost") ?? 0, before * 0.001 + (all - before) * 0.002, accuracy: 1e-6)
    }
}

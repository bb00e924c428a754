import Foundation
import HeraDB
import XCTest

/// The reporting views agree with hand-written queries over the raw tables, and the role
/// hera_reporting reads those views and nothing else.
final class ReportingTests: XCTestCase {
    var cluster: TestCluster!

    static let views = ["price_periods", "usage_by_sandbox", "usage_by_sandbox_hour", "usage_by_account_hour",
                        "usage_by_account_day", "live_by_account", "queue_wait_by_hour", "node_utilisation", "account_overview"]
    static let tables = ["accounts", "templates", "nodes", "sandboxes", "execs", "sandbox_usage", "sandbox_usage_hours",
                         "prices", "schema_migrations"]

    override func setUpWithError() throws {
        cluster = try TestCluster()
        _ = try cluster.registerNode("n1", memory: 4000, slots: 16)
        for (index, memory) in [100, 200, 300, 400].enumerated() {
            let id = try XCTUnwrap(try cluster.reserve(memory: memory).id)
            try cluster.markRunning(id, secondsAgo: Double(600 * (index + 1)))
            if index % 2 == 0 { try cluster.finish(id, "killed") }
        }
        _ = try cluster.reserve(memory: 50)
    }

    override func tearDown() {
        cluster.shutdown()
    }

    private func value(_ sql: String) throws -> Double? {
        try cluster.connection.query(sql).first?.double("v")
    }

    func testViewsMatchHandWrittenQueries() throws {
        let viewTotal = try value("SELECT sum(mb_seconds) AS v FROM usage_by_account_day")
        let rawTotal = try value("""
            SELECT (SELECT sum(mb_seconds) FROM sandbox_usage)
                 + (SELECT sum(reserved_memory_mb * extract(epoch FROM now() - started_at)) FROM sandboxes WHERE state = 'running') AS v
            """)
        XCTAssertEqual(try XCTUnwrap(viewTotal), try XCTUnwrap(rawTotal), accuracy: 1000, "a second or so of running time apart")

        let live = try cluster.connection.query("SELECT assigned, running, reserved_memory_mb FROM live_by_account").first
        let raw = try cluster.connection.query("""
            SELECT count(*) FILTER (WHERE state = 'assigned') AS assigned, count(*) FILTER (WHERE state = 'running') AS running,
                   sum(reserved_memory_mb) AS memory FROM sandboxes WHERE state <> 'finished'
            """).first
        XCTAssertEqual(live?.int("assigned"), raw?.int("assigned"))
        XCTAssertEqual(live?.int("running"), raw?.int("running"))
        XCTAssertEqual(live?.int("reserved_memory_mb"), raw?.int("memory"))

        let wait = try value("SELECT sum(p50_seconds * started) / sum(started) AS v FROM queue_wait_by_hour")
        let rawWait = try value("""
            SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM started_at - created_at)) AS v
            FROM sandboxes WHERE started_at IS NOT NULL
            """)
        XCTAssertEqual(try XCTUnwrap(wait), try XCTUnwrap(rawWait), accuracy: 0.001)

        let node = try cluster.connection.query("SELECT memory_reserved_mb, memory_total_mb FROM node_utilisation").first
        XCTAssertEqual(node?.int("memory_reserved_mb"), 200 + 400 + 50)
        XCTAssertEqual(node?.int("memory_total_mb"), 4000)
    }

    func testReportingRoleReadsTheViewsAndNothingElse() throws {
        let reporter = try PGConnection(cluster.databaseURL)
        try reporter.execute("SET ROLE hera_reporting")
        for view in ReportingTests.views {
            XCTAssertNoThrow(try reporter.query("SELECT * FROM \(view) LIMIT 1"), view)
        }
        for table in ReportingTests.tables {
            XCTAssertThrowsError(try reporter.query("SELECT * FROM \(table) LIMIT 1"), table) { error in
                XCTAssertEqual((error as? PGError)?.sqlState, "42501", "\(table): \(error)")
            }
        }
        XCTAssertThrowsError(try reporter.query("SELECT key_hash FROM accounts")) { error in
            XCTAssertEqual((error as? PGError)?.sqlState, "42501")
        }
        XCTAssertThrowsError(try reporter.query("INSERT INTO prices (valid_from, per_mb_second) VALUES (utc_hour(now()), 1)"))
        XCTAssertThrowsError(try reporter.query("SELECT sandbox_finish(id, 'killed', NULL) FROM usage_by_sandbox"),
                             "functions run with the caller's rights: no writes behind the views")
        let columns = try reporter.query("SELECT * FROM account_overview LIMIT 1").columns
        XCTAssertFalse(columns.contains("key_hash"))
    }
}

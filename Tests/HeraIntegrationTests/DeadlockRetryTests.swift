import Foundation
import HeraDB
import XCTest

/// A statement that PostgreSQL picks as a deadlock's victim is rolled back whole; the pool runs it
/// again, so callers (every gateway route) never see the deadlock.
final class DeadlockRetryTests: XCTestCase {
    func testTheVictimOfADeadlockIsRunAgain() throws {
        let url = try TestDatabase.fresh()
        let setup = try PGConnection(url)
        try setup.execute("""
            CREATE TABLE pair (id integer PRIMARY KEY, touched integer NOT NULL DEFAULT 0);
            INSERT INTO pair VALUES (1), (2);
            CREATE FUNCTION lock_both(first integer, second integer) RETURNS void LANGUAGE plpgsql AS $$
            BEGIN
                UPDATE pair SET touched = touched + 1 WHERE id = first;
                PERFORM pg_sleep(0.3);
                UPDATE pair SET touched = touched + 1 WHERE id = second;
            END $$;
            """)
        let pool = PGPool(conninfo: url, size: 2)
        let results = ConcurrentResults()
        concurrently(2) { index in
            do {
                try pool.query("SELECT lock_both($1, $2)", index == 0 ? ["1", "2"] : ["2", "1"])
                results.add(200, nil)
            } catch {
                results.add(500, "\(error)")
            }
        }
        XCTAssertEqual(results.statuses, [200, 200], "\(results.ids)")
        let touched = try setup.query("SELECT sum(touched) AS n FROM pair").first?.int("n")
        XCTAssertEqual(touched, 4, "each call's two updates, once each")
    }
}

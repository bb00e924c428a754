import Foundation
import HeraDB
import XCTest

/// How sandboxes and commands end on a real node, and that nothing outlives them.
final class NodeVerdictTests: XCTestCase {
    var cluster: TestCluster!
    var client: TestClient!

    override func setUpWithError() throws {
        requireRoot()
        cluster = try TestCluster()
        try cluster.addNode("v1")
        client = try cluster.addGateway()
    }

    override func tearDown() {
        cluster?.shutdown()
    }

    private func finished(_ id: String, within seconds: Double = 10) throws -> [String: Any] {
        XCTAssertTrue(try cluster.eventually(within: seconds) { try cluster.sandboxState(client, id) == "finished" })
        return try client.get("/sandbox/\(id)").json
    }

    func testMainCommandEndsTheSandboxExitedWithItsCodeAndNothingSurvives() throws {
        let created = try client.post("/sandbox/", [("memory", "64"), ("timeout", "60"), ("template", "busybox"),
                                                    ("command", "setsid sleep 777 & echo main; exit 3")])
        let id = try XCTUnwrap(created.json["id"] as? String, created.text)
        let exec = try XCTUnwrap(created.json["exec_id"] as? Int)
        let sandbox = try finished(id)
        XCTAssertEqual(sandbox["finish_reason"] as? String, "exited")
        XCTAssertEqual(sandbox["finish_detail"] as? String, "code 3")
        let result = try client.get("/sandbox/\(id)/exec/\(exec)").json
        XCTAssertEqual(result["code"] as? Int, 3)
        XCTAssertEqual(result["stdout"] as? String, "main\n")
        XCTAssertFalse(processRunning("sleep 777"))
    }

    func testMainCommandKilledForMemoryEndsOOM() throws {
        let created = try client.post("/sandbox/", [("memory", "32"), ("timeout", "60"), ("template", "busybox"),
                                                    ("command", "dd if=/dev/zero of=/dev/null bs=200M count=1")])
        let sandbox = try finished(try XCTUnwrap(created.json["id"] as? String))
        XCTAssertEqual(sandbox["finish_reason"] as? String, "oom")
    }

    func testExecTimeoutKillsTheTreeAndKeepsOutput() throws {
        let id = try cluster.createSandbox(client)
        let start = Date()
        let result = try client.post("/sandbox/\(id)/exec", [("command", "echo before; setsid sleep 778 & sleep 100"),
                                                             ("timeout", "1")]).json
        XCTAssertLessThan(-start.timeIntervalSinceNow, 4)
        XCTAssertEqual(result["timed_out"] as? Bool, true)
        XCTAssertEqual(result["stdout"] as? String, "before\n")
        XCTAssertEqual(result["signal"] as? Int, 9)
        XCTAssertFalse(processRunning("sleep 778"))
        XCTAssertEqual(try cluster.sandboxState(client, id), "running")
    }

    func testExecReportsWhatItUsed() throws {
        let id = try cluster.createSandbox(client)
        let result = try client.post("/sandbox/\(id)/exec", [("command", "i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done")]).json
        XCTAssertEqual(result["code"] as? Int, 0)
        let cpu = (result["cpu_user_seconds"] as? Double ?? -1) + (result["cpu_system_seconds"] as? Double ?? -1)
        let wall = try XCTUnwrap(result["wall_seconds"] as? Double)
        XCTAssertGreaterThan(cpu, 0)
        XCTAssertLessThanOrEqual(cpu, wall + 0.05)
        XCTAssertGreaterThan(result["peak_memory_bytes"] as? Int ?? 0, 0)
    }

    /// A node declared lost (its heartbeats stopped reaching the database) is fenced off: its
    /// sandboxes end `lost` with their capacity released, and when it is heard from again it
    /// kills them locally and registers as a new run.
    func testLostNodeIsFencedAndKillsWhatItLost() throws {
        let id = try cluster.createSandbox(client)
        XCTAssertTrue(try cluster.eventually(within: 10) { try cluster.sandboxState(client, id) == "running" })
        XCTAssertEqual(try client.post("/sandbox/\(id)/exec", [("command", "sleep 779"), ("sync", "false")]).status, 200)
        XCTAssertTrue(cluster.eventually(within: 5) { processRunning("sleep 779") })
        let epoch = try cluster.connection.query("SELECT epoch FROM nodes").first?.int("epoch")
        try cluster.connection.execute("""
            UPDATE nodes SET heartbeat_at = now() - interval '1 minute'; SELECT node_sweep_lost();
            """)
        let sandbox = try client.get("/sandbox/\(id)").json
        XCTAssertEqual(sandbox["finish_reason"] as? String, "lost")
        XCTAssertEqual(try cluster.connection.query("SELECT memory_reserved_mb AS m FROM nodes").first?.int("m"), 0)
        XCTAssertTrue(cluster.eventually(within: 6) { !processRunning("sleep 779") }, "the fenced node kept running what it lost")
        XCTAssertTrue(try cluster.eventually(within: 6) {
            try cluster.connection.query("SELECT epoch FROM nodes").first?.int("epoch") ?? 0 > (epoch ?? 0) + 1
        }, "the node registered again as a new run")
        // A stale run's writes change nothing.
        XCTAssertEqual(try cluster.connection.query("SELECT node_heartbeat(id, $1) AS ok FROM nodes", [String(epoch ?? 0)])
            .first?.bool("ok"), nil)
        XCTAssertEqual(try cluster.createSandbox(client).isEmpty, false, "the node takes new work after rejoining")
    }
}

/// Whether a process with exactly this command line runs on the machine.
func processRunning(_ commandLine: String) -> Bool {
    guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return false }
    for entry in entries where Int(entry) != nil {
        guard let raw = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline") else { continue }
        let text = String(decoding: raw.map { $0 == 0 ? 0x20 : $0 }, as: UTF8.self).trimmingCharacters(in: .whitespaces)
        if text == commandLine { return true }
    }
    return false
}

import Foundation
import HeraDB
import XCTest

/// Hostile programs on a real node: each gets its verdict, the node is clean within a second
/// of the end, and the host never sees more than the sandbox should.
final class HostileProgramTests: XCTestCase {
    var cluster: TestCluster!
    var client: TestClient!

    override func setUpWithError() throws {
        requireRoot()
        cluster = try TestCluster()
        try cluster.addNode("h1", pidsMax: 64)
        client = try cluster.addGateway()
    }

    override func tearDown() {
        cluster?.shutdown()
    }

    /// A sandbox with a main command; returns its final state once it ended.
    private func runToEnd(_ command: String, memory: Int = 64, timeout: Int = 30) throws -> (sandbox: [String: Any], exec: [String: Any]) {
        let created = try client.post("/sandbox/", [("memory", String(memory)), ("timeout", String(timeout)),
                                                    ("template", "busybox"), ("command", command)])
        let id = try XCTUnwrap(created.json["id"] as? String, created.text)
        let exec = try XCTUnwrap(created.json["exec_id"] as? Int)
        let sandbox = try client.post("/sandbox/\(id)/wait", [("timeout", String(timeout + 10))]).json
        XCTAssertEqual(sandbox["state"] as? String, "finished", command)
        XCTAssertTrue(cluster.eventually(within: 1) { cluster.nodeCgroups("h1").isEmpty },
                      "the node still has cgroups after \(command): \(cluster.nodeCgroups("h1"))")
        return (sandbox, try client.get("/sandbox/\(id)/exec/\(exec)").json)
    }

    func testVerdictTable() throws {
        let rows: [(command: String, memory: Int, timeout: Int, reason: String, detail: String?)] = [
            ("setsid sleep 600 & exit 3", 64, 30, "exited", "code 3"),
            ("kill -9 $$", 64, 30, "exited", "signal 9"),
            ("dd if=/dev/zero of=/dev/null bs=200M count=1", 32, 30, "oom", "signal 9"),
            ("f() { f | f & }; f; sleep 1", 64, 30, "exited", "code 0"),
            ("echo before; sleep 600", 64, 2, "expired", nil),
        ]
        for row in rows {
            let (sandbox, exec) = try runToEnd(row.command, memory: row.memory, timeout: row.timeout)
            XCTAssertEqual(sandbox["finish_reason"] as? String, row.reason, row.command)
            if let detail = row.detail { XCTAssertEqual(sandbox["finish_detail"] as? String, detail, row.command) }
            if row.reason == "expired" {
                XCTAssertEqual(exec["stdout"] as? String, "before\n", "output written before the end is kept")
                XCTAssertEqual(exec["sandbox_ended"] as? Bool, true)
            }
        }
        XCTAssertFalse(processRunning("sleep 600"))
    }

    func testMemoryHogIsOOMTwentyTimesOver() throws {
        for round in 0..<20 {
            let (sandbox, _) = try runToEnd("dd if=/dev/zero of=/dev/null bs=200M count=1", memory: 32)
            XCTAssertEqual(sandbox["finish_reason"] as? String, "oom", "round \(round)")
        }
    }

    func testForkBombLeavesOtherSandboxesWorking() throws {
        let bystander = try cluster.createSandbox(client)
        let bomb = try cluster.createSandbox(client)
        _ = try client.post("/sandbox/\(bomb)/exec", [("command", "f() { f | f & }; f"), ("sync", "false")])
        usleep(500_000)
        let answer = try client.post("/sandbox/\(bystander)/exec", [("command", "echo fine")])
        XCTAssertEqual(answer.json["stdout"] as? String, "fine\n")
        XCTAssertEqual(try client.post("/sandbox/\(bomb)/kill").json["finish_reason"] as? String, "killed")
    }

    func testOrphanedGrandchildrenAreReapedUnderASmallPidsLimit() throws {
        let id = try cluster.createSandbox(client)
        let made = try client.post("/sandbox/\(id)/exec", [
            ("command", "i=0; while [ $i -lt 500 ]; do (sleep 0.01 &) 2>/dev/null; i=$((i+1)); done; echo made"),
            ("timeout", "60")]).json
        XCTAssertEqual(made["stdout"] as? String, "made\n")
        usleep(300_000)
        let zombies = try client.post("/sandbox/\(id)/exec", [("command", "grep -l '^State:.Z' /proc/[0-9]*/status | wc -l")]).json
        XCTAssertEqual((zombies["stdout"] as? String)?.trimmingCharacters(in: .whitespacesAndNewlines), "0")
    }

    func testFloodsOnBothStreamsAreCappedWithoutDeadlock() throws {
        let id = try cluster.createSandbox(client)
        let flood = try client.post("/sandbox/\(id)/exec", [("command", "yes | head -c 3000000; head -c 3000000 /dev/zero >&2")]).json
        XCTAssertEqual(flood["stdout_truncated"] as? Bool, true)
        XCTAssertEqual(flood["stderr_truncated"] as? Bool, true)
        XCTAssertEqual((flood["stdout"] as? String)?.utf8.count, 1 << 20)
        let endless = try client.post("/sandbox/\(id)/exec", [("command", "yes"), ("timeout", "1")]).json
        XCTAssertEqual(endless["timed_out"] as? Bool, true)
        XCTAssertEqual((endless["stdout"] as? String)?.utf8.count, 1 << 20)
    }

    func testTheHostIsOutOfReach() throws {
        let marker = TestCluster.testDirectory + "/host-marker"
        try "secret".write(toFile: marker, atomically: true, encoding: .utf8)
        let id = try cluster.createSandbox(client)
        let probes: [(String, String)] = [
            ("cat \(marker) || echo unreachable", "unreachable\n"),
            ("cat /proc/1/root\(marker) 2>/dev/null || echo unreachable", "unreachable\n"),
            ("ls /proc/self/fd | wc -l", "4\n"),                      // 0, 1, 2 and ls's own directory
            ("wget -q -T 1 -O - http://127.0.0.1:\(client.port)/healthz || echo unreachable", "unreachable\n"),
            ("nc -w 1 127.0.0.1 5432 </dev/null && echo open || echo unreachable", "unreachable\n"),
            ("ip -o link 2>/dev/null | wc -l || cat /proc/net/dev | tail -n +3 | wc -l", "1\n"),
        ]
        for (command, expected) in probes {
            let result = try client.post("/sandbox/\(id)/exec", [("command", command)]).json
            XCTAssertEqual(result["stdout"] as? String, expected, command)
        }
    }

    /// kill -9 of the node process with sandboxes running, then a restart: the new run removes
    /// what the old one left (processes and cgroups) and ends those sandboxes `lost`.
    func testNodeKilledWithSIGKILLCleansUpWhenRestarted() throws {
        let node = try NodeProcess(cluster: cluster, name: "k9")
        try node.start()
        defer { node.stop() }
        let id = try cluster.createSandbox(client, extra: [("node_type", "k9"), ("command", "sleep 781")])
        XCTAssertTrue(cluster.eventually(within: 5) { processRunning("sleep 781") })
        node.kill9()
        XCTAssertTrue(processRunning("sleep 781"), "a SIGKILLed worker leaves its sandboxes' processes behind")
        try node.start()
        XCTAssertTrue(cluster.eventually(within: 5) { !processRunning("sleep 781") })
        XCTAssertTrue(try cluster.eventually(within: 5) { try cluster.sandboxState(client, id) == "finished" })
        XCTAssertEqual(try client.get("/sandbox/\(id)").json["finish_reason"] as? String, "lost")
        XCTAssertTrue(cluster.nodeCgroups("k9").isEmpty)
        try cluster.checkReservationsMatchSandboxes()
    }
}

import Foundation
import XCTest

/// POST /sandbox/:id/create_template: a sandbox's filesystem becomes a private template of the
/// caller's, on the sandbox's node; placement of its sandboxes follows it.
final class SaveAsTemplateTests: XCTestCase {
    var cluster: TestCluster!
    var client: TestClient!

    override func setUpWithError() throws {
        requireRoot()
        cluster = try TestCluster()
        try cluster.addNode("n1")
        client = try cluster.addGateway()
    }

    override func tearDown() {
        cluster?.shutdown()
    }

    private func run(_ id: String, _ command: String, file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let response = try client.post("/sandbox/\(id)/exec", [("command", command), ("sync", "true")])
        XCTAssertEqual(response.status, 200, response.text, file: file, line: line)
        XCTAssertEqual(response.json["code"] as? Int, 0, response.text, file: file, line: line)
        return response.json["stdout"] as? String ?? ""
    }

    private func create(template: String, file: StaticString = #filePath, line: UInt = #line) throws -> TestResponse {
        try client.post("/sandbox/", [("memory", "64"), ("timeout", "60"), ("template", template)])
    }

    func testASavedSandboxGivesNewSandboxesItsFiles() throws {
        let source = try cluster.createSandbox(client)
        _ = try run(source, "echo marked > /etc/marker && mkdir -p /opt/app && echo 1 > /opt/app/v && rm /etc/hostname"
                            + " && ln -s /etc/passwd /opt/app/link && mkfifo /opt/app/fifo")
        let saved = try client.post("/sandbox/\(source)/create_template", [("name", "marked")])
        XCTAssertEqual(saved.status, 200, saved.text)
        XCTAssertEqual(saved.json["state"] as? String, "ready")
        XCTAssertEqual(saved.json["owner"] as? String, cluster.account)
        XCTAssertEqual(saved.json["public"] as? Bool, false)
        let template = try XCTUnwrap(saved.json["id"] as? Int)

        let ended = try client.get("/sandbox/\(source)")
        XCTAssertEqual(ended.json["state"] as? String, "finished")
        XCTAssertEqual(ended.json["finish_reason"] as? String, "killed")
        XCTAssertEqual(ended.json["finish_detail"] as? String, "saved as template \(template)")

        for reference in ["marked", String(template), "\(cluster.account)/marked"] {
            let created = try create(template: reference)
            XCTAssertEqual(created.status, 200, created.text)
            let id = try XCTUnwrap(created.json["id"] as? String)
            XCTAssertEqual(try run(id, "cat /etc/marker /opt/app/v; test -e /etc/hostname || echo gone; readlink /opt/app/link;"
                                       + " test -p /opt/app/fifo && echo fifo; id -u"),
                           "marked\n1\ngone\n/etc/passwd\nfifo\n65534\n")
        }
        let rootfs = try XCTUnwrap(cluster.connection.query("SELECT rootfs FROM templates WHERE id = $1", [String(template)]).first?["rootfs"])
        XCTAssertEqual(rootfs, cluster.templateStore(node: "n1") + "/\(template)")
        var info = stat()
        XCTAssertEqual(lstat(rootfs + "/etc/marker", &info), 0)
        XCTAssertEqual(info.st_uid, 65534, "files the sandbox wrote keep their owner")
        XCTAssertEqual(try String(contentsOfFile: rootfs + "/etc/marker", encoding: .utf8), "marked\n")
        XCTAssertEqual(try cluster.connection.query("SELECT count(*) AS n FROM templates WHERE state = 'creating'").first?.int("n"), 0)
        try cluster.checkReservationsMatchSandboxes()
    }

    /// Found by an attacker: /tmp replaced by a link to a host file, saved, and the next start
    /// chmodded the host file 1777. Now the start replaces the link inside the sandbox.
    func testASavedLinkInPlaceOfTmpNeverReachesTheHost() throws {
        let canary = TestCluster.testDirectory + "/canary-\(UUID().uuidString)"
        FileManager.default.createFile(atPath: canary, contents: Data("secret".utf8))
        XCTAssertEqual(chmod(canary, 0o600), 0)
        defer { try? FileManager.default.removeItem(atPath: canary) }
        let source = try cluster.createSandbox(client)
        _ = try run(source, "rmdir /tmp && ln -s \(canary) /tmp")
        XCTAssertEqual(try client.post("/sandbox/\(source)/create_template", [("name", "linked-tmp")]).status, 200)
        let created = try create(template: "linked-tmp")
        XCTAssertEqual(created.status, 200, created.text)
        let id = try XCTUnwrap(created.json["id"] as? String)
        XCTAssertEqual(try run(id, "stat -c %a /tmp && echo x > /tmp/f && cat /tmp/f"), "1777\nx\n")
        var info = stat()
        XCTAssertEqual(stat(canary, &info), 0)
        XCTAssertEqual(info.st_mode & 0o7777, 0o600)
        XCTAssertEqual(try String(contentsOfFile: canary, encoding: .utf8), "secret")
    }

    func testTheDefaultNameAndTheSavedTemplateAreTheCallersOnly() throws {
        let source = try cluster.createSandbox(client)
        let saved = try client.post("/sandbox/\(source)/create_template")
        XCTAssertEqual(saved.status, 200, saved.text)
        XCTAssertEqual(saved.json["name"] as? String, "sandbox-" + source.prefix(8))

        let otherKey = try cluster.addAccount("bob")
        let bob = TestClient(port: client.port, user: "bob", key: otherKey)
        let id = try XCTUnwrap(saved.json["id"] as? Int)
        XCTAssertEqual(try bob.get("/template/\(id)").status, 403)
        XCTAssertEqual(try bob.post("/sandbox/", [("memory", "64"), ("timeout", "60"), ("template", String(id))]).status, 403)
    }

    func testRefusals() throws {
        let source = try cluster.createSandbox(client)
        let otherKey = try cluster.addAccount("bob")
        let bob = TestClient(port: client.port, user: "bob", key: otherKey)
        XCTAssertEqual(try bob.post("/sandbox/\(source)/create_template").status, 403)
        for name in ["", "-x", "a/b", String(repeating: "n", count: 65), "sp ace", "dot\u{0}", "12345", "trailing\n", "ünï"] {
            let response = try client.post("/sandbox/\(source)/create_template", [("name", name)])
            XCTAssertEqual(response.status, 400, "name \(name): \(response.text)")
        }
        XCTAssertEqual(try client.post("/sandbox/\(UUID().uuidString.lowercased())/create_template").status, 404)
        XCTAssertEqual(try client.post("/sandbox/not-a-uuid/create_template").status, 404)

        let taken = try client.post("/sandbox/\(try cluster.createSandbox(client))/create_template", [("name", "taken")])
        XCTAssertEqual(taken.status, 200, taken.text)
        let duplicate = try client.post("/sandbox/\(source)/create_template", [("name", "taken")])
        XCTAssertEqual(duplicate.status, 400, duplicate.text)
        XCTAssertEqual(duplicate.json["status"] as? String, "MalformedRequest")
        XCTAssertEqual(try cluster.sandboxState(client, source), "running", "a refused save leaves the sandbox running")

        XCTAssertEqual(try client.post("/sandbox/\(source)/kill").status, 200)
        XCTAssertTrue(try cluster.eventually(within: 10) { try cluster.sandboxState(client, source) == "finished" })
        let late = try client.post("/sandbox/\(source)/create_template", [("name", "late")])
        XCTAssertEqual(late.status, 410, late.text)
        XCTAssertEqual(late.json["message"] as? String, "the sandbox has finished")
        XCTAssertEqual(try cluster.connection.query("SELECT count(*) AS n FROM templates WHERE name = 'late'").first?.int("n"), 0)
    }

    /// Saves racing kills, expiries, commands and each other: every sandbox ends, capacity comes
    /// back, and the store holds exactly the ready templates — nothing half-made.
    func testSavesRacingKillsAndExpiriesLeaveNothingBehind() throws {
        let count = 12
        let client = self.client!
        let ids = try (0..<count).map { index in
            try cluster.createSandbox(client, timeout: index % 4 == 3 ? 1 : 60)
        }
        let results = ConcurrentResults()
        concurrently(count * 2) { task in
            let id = ids[task % count]
            let status: Int
            switch (task / count, task % 4) {
            case (0, _): status = (try? client.post("/sandbox/\(id)/create_template", [("name", "race-\(task)")]).status) ?? -1
            case (1, 0): status = (try? client.post("/sandbox/\(id)/kill").status) ?? -1
            case (1, 1): status = (try? client.post("/sandbox/\(id)/create_template", [("name", "second-\(task)")]).status) ?? -1
            default: status = (try? client.post("/sandbox/\(id)/exec", [("command", "echo x > /etc/x; sleep 0.2")]).status) ?? -1
            }
            results.add(status, nil)
        }
        // 429: an account saves one sandbox at a time.
        XCTAssertFalse(results.statuses.contains { ![200, 410, 429].contains($0) }, "statuses: \(results.statuses)")
        for id in ids {
            _ = try client.post("/sandbox/\(id)/kill")   // those whose save was refused still run
            XCTAssertTrue(try cluster.eventually(within: 20) { try cluster.sandboxState(client, id) == "finished" }, id)
        }
        XCTAssertEqual(try cluster.connection.query("SELECT count(*) AS n FROM templates WHERE state = 'creating'").first?.int("n"), 0)
        let ready = Set(try cluster.connection.query("SELECT rootfs FROM templates WHERE rootfs LIKE $1 || '/%'",
                                                     [cluster.templateStore(node: "n1")]).rows.compactMap { $0["rootfs"] })
        let stored = Set(try FileManager.default.contentsOfDirectory(atPath: cluster.templateStore(node: "n1"))
            .filter { !$0.hasPrefix(".") }   // the store's marker
            .map { cluster.templateStore(node: "n1") + "/" + $0 })
        XCTAssertEqual(stored, ready, "the store holds the ready templates and nothing else")
        XCTAssertFalse(ready.isEmpty)
        try cluster.checkReservationsMatchSandboxes()
        XCTAssertEqual(cluster.nodeCgroups("n1"), [])
        cluster.shutdown()
        for (_, directory) in cluster.nodeCgroupParents("n1") {
            XCTAssertFalse(FileManager.default.fileExists(atPath: directory), "a stopped node removes its cgroup parent")
        }
    }

    func testAnAccountOwnsAtMostTheTemplateLimit() throws {
        let limited = try cluster.addGateway(maxTemplates: 2)
        for name in ["one", "two"] {
            XCTAssertEqual(try limited.post("/sandbox/\(try cluster.createSandbox(limited))/create_template", [("name", name)]).status, 200)
        }
        let source = try cluster.createSandbox(limited)
        let refused = try limited.post("/sandbox/\(source)/create_template", [("name", "three")])
        XCTAssertEqual(refused.status, 429, refused.text)
        XCTAssertEqual(refused.json["status"] as? String, "QuotaExceeded")
        XCTAssertEqual(try cluster.sandboxState(limited, source), "running")
    }

    func testAnAccountsSavedTemplatesTakeAtMostTheDiskLimit() throws {
        let limited = try cluster.addGateway(maxTemplateMB: 1)
        let first = try limited.post("/sandbox/\(try cluster.createSandbox(limited))/create_template", [("name", "first")])
        XCTAssertEqual(first.status, 200, first.text)
        XCTAssertGreaterThanOrEqual(first.json["size_mb"] as? Int ?? 0, 1, "the busybox copy takes a MB or more")
        let source = try cluster.createSandbox(limited)
        let refused = try limited.post("/sandbox/\(source)/create_template", [("name", "second")])
        XCTAssertEqual(refused.status, 429, refused.text)
        XCTAssertTrue(refused.text.contains("1 MB or more of disk"), refused.text)
        XCTAssertEqual(try cluster.sandboxState(limited, source), "running")
    }

    /// Found by an attacker: saves started together were each checked against the sizes of the
    /// finished ones only, and 12 of them took 720 MB against a 100 MB limit.
    func testAnAccountSavesOneSandboxAtATime() throws {
        let client = self.client!
        let sources = try (0..<6).map { _ in try cluster.createSandbox(client) }
        let results = ConcurrentResults()
        concurrently(sources.count) { index in
            let response = try? client.post("/sandbox/\(sources[index])/create_template", [("name", "together-\(index)")])
            results.add(response?.status ?? -1, response?.json["message"] as? String)
        }
        XCTAssertGreaterThanOrEqual(results.count(200), 1, "\(results.statuses)")
        XCTAssertEqual(results.count(200) + results.count(429), sources.count, "\(results.statuses)")
        XCTAssertTrue(results.ids.allSatisfy { $0 == "a save of yours is in progress; an account saves one sandbox at a time" },
                      "\(results.ids)")
        let files = try cluster.connection.query("SELECT min(size_files) AS n FROM templates WHERE name LIKE 'together-%'").first?.int("n")
        XCTAssertGreaterThan(files ?? 0, 100, "the busybox copy holds its applet links")
    }

    func testAQueuedSandboxCannotBeSaved() throws {
        let small = try TestCluster()
        defer { small.shutdown() }
        try small.addNode("tiny", memoryMB: 64, slots: 1)
        let tinyClient = try small.addGateway()
        _ = try small.createSandbox(tinyClient)
        let queued = try tinyClient.post("/sandbox/", [("memory", "64"), ("timeout", "60"), ("template", TestCluster.templateName),
                                                      ("async", "true")])
        let queuedID = try XCTUnwrap(queued.json["id"] as? String, queued.text)
        XCTAssertEqual(try small.sandboxState(tinyClient, queuedID), "queued")
        let response = try tinyClient.post("/sandbox/\(queuedID)/create_template")
        XCTAssertEqual(response.status, 409, response.text)
        XCTAssertEqual(response.json["status"] as? String, "SandboxNotRunning")
    }

    func testSandboxesArePlacedOnlyOnNodesHoldingTheirTemplate() throws {
        // Two nodes without workers (the nodes of one test machine would all see every directory):
        // both hold busybox, only f2 holds "f2-only".
        let f1 = try cluster.registerNode("f1", memory: 1024, slots: 4)
        let f2 = try cluster.registerNode("f2", memory: 1024, slots: 4)
        try cluster.connection.query("UPDATE nodes SET drained = true WHERE name = 'n1'")
        let only = try XCTUnwrap(cluster.connection.query("""
            INSERT INTO templates (name, rootfs, public) VALUES ('f2-only', '/nonexistent/f2-only', true) RETURNING id
            """).first?.int("id"))
        let epoch = try XCTUnwrap(cluster.connection.query("SELECT epoch FROM nodes WHERE id = $1", [String(f2)]).first?["epoch"])
        try cluster.connection.query("SELECT node_templates_report($1, $2, ARRAY[$3::bigint, $4::bigint], '{}')",
                                     [String(f2), epoch, String(cluster.templateID), String(only)])
        func reserve(_ template: String, async: Bool = false) throws -> (status: String, message: String?, node: Int?) {
            let row = try cluster.connection.query("""
                SELECT status, message, node_id FROM sandbox_create(1, 'me', $1, 256, 60, false, NULL, $2)
                """, [template, async ? "t" : "f"]).first
            return (row?["status"] ?? "", row?["message"], row?.int("node_id"))
        }
        for _ in 0..<4 { XCTAssertEqual(try reserve("f2-only").node, f2, "only f2 holds it, though f1 has more room") }
        let full = try reserve("f2-only")
        XCTAssertEqual(full.status, "ResourceNotAvailable")
        XCTAssertEqual(try reserve("f2-only", async: true).status, "ok", "queued: f2 will have room again")
        XCTAssertEqual(try reserve(TestCluster.templateName).node, f1, "busybox still goes where there is room")

        // A report names what the node looked at: a template it did not look at (saved meanwhile) stays held.
        try cluster.connection.query("SELECT node_templates_report($1, $2, '{}', ARRAY[$3::bigint])",
                                     [String(f2), epoch, String(cluster.templateID)])
        XCTAssertEqual(try cluster.connection.query("SELECT template_id FROM template_nodes WHERE node_id = $1",
                                                    [String(f2)]).rows.compactMap { $0.int("template_id") }, [only])

        // Held by no live node: refused at once, saying why, and never queued.
        try cluster.connection.query("UPDATE nodes SET heartbeat_at = now() - interval '1 hour' WHERE id = $1", [String(f2)])
        for async in [false, true] {
            let refused = try reserve("f2-only", async: async)
            XCTAssertEqual(refused.status, "ResourceNotAvailable")
            XCTAssertEqual(refused.message, "no live node holds template f2-only")
        }
        try cluster.checkReservationsMatchSandboxes()
    }

    func testANodeReportsTheTemplatesWhoseDirectoryItHas() throws {
        let directory = cluster.templateStore(node: "n1") + "/copied"
        XCTAssertEqual(try shell("cp -a \(TestCluster.testDirectory)/templates/busybox \(directory)"), 0)
        let copied = try cluster.addTemplate(name: "copied", rootfs: directory)
        func holders() throws -> Int? {
            try cluster.connection.query("SELECT count(*) AS n FROM template_nodes WHERE template_id = $1", [String(copied)]).first?.int("n")
        }
        XCTAssertEqual(try holders(), 1, "hera template add waits until a node holds it")
        let created = try create(template: "copied")
        XCTAssertEqual(created.status, 200, created.text)

        XCTAssertEqual(try shell("rm -rf \(directory)"), 0)
        try cluster.connection.query("SELECT pg_notify('hera_node_' || id, 'templates') FROM nodes")
        XCTAssertTrue(try cluster.eventually(within: 5) { try holders() == 0 })
        let refused = try create(template: "copied")
        XCTAssertEqual(refused.status, 503, refused.text)
        XCTAssertTrue(refused.text.contains("no live node holds template copied"), refused.text)
    }

    func testASaveThatCannotFinishLeavesNoTemplateBehind() throws {
        // The node dies (its run is fenced off) before it saves: the sandbox ends, the template goes.
        let source = try cluster.createSandbox(client)
        try cluster.connection.execute("""
            BEGIN;
            SELECT * FROM sandbox_save_as_template((SELECT id FROM accounts WHERE name = 'alice'), '\(source)', 'orphan', 100, 10240, 1000000);
            SELECT sandbox_finish('\(source)', 'lost', 'test');
            COMMIT;
            """)
        XCTAssertEqual(try cluster.connection.query("SELECT count(*) AS n FROM templates WHERE name = 'orphan'").first?.int("n"), 0)
    }

    private func shell(_ command: String) throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", command]
        try process.run()
        process.waitUntilExit()
        return process.terminationStatus
    }
}

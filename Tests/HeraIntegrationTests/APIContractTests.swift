import Foundation
import HeraAdmin
import HeraDB
import HeraSupport
import XCTest

/// Every parameter, rule and error of the reference API, against a real cluster.
final class APIContractTests: ClusterTestCase {

    private func create(_ form: [(String, String)]) throws -> TestResponse {
        try client.post("/sandbox/", form)
    }

    func testJSONBodyCreatesLikeAForm() throws {
        let body = #"{"memory": 64, "timeout": 30, "template": "busybox", "whole_node": false}"#
        let response = try client.send("POST", "/sandbox/", body: Array(body.utf8), contentType: "application/json")
        XCTAssertEqual(response.status, 200, response.text)
        XCTAssertNotNil(response.json["id"] as? String)
    }

    func testTimeoutAboveTheMaximumSaysTheMaximum() throws {
        let response = try create([("memory", "64"), ("timeout", "601"), ("template", "busybox")])
        XCTAssertEqual(response.status, 400)
        XCTAssertTrue((response.json["message"] as? String ?? "").contains("600"), response.text)
    }

    func testTemplateByIdAccountNameBareNameAndDisk() throws {
        let key = try Admin.accountCreate(cluster.connection, name: "owner1")
        let own = try Admin.templateAdd(cluster.connection, name: "mine", rootfs: TestCluster.testDirectory + "/templates/busybox",
                                        owner: "owner1", isPublic: false, minMemoryMB: 16)
        let owner = TestClient(port: client.port, user: "owner1", key: key)
        for reference in ["mine", "owner1/mine", String(own)] {
            let response = try owner.post("/sandbox/", [("memory", "32"), ("timeout", "10"), ("template", reference)])
            XCTAssertEqual(response.status, 200, "\(reference): \(response.text)")
        }
        XCTAssertEqual(try owner.post("/sandbox/", [("memory", "32"), ("timeout", "10"), ("disk", "busybox")]).status, 200)
        // Another account may not use the private template, by any name.
        for reference in ["owner1/mine", String(own)] {
            let response = try create([("memory", "32"), ("timeout", "10"), ("template", reference)])
            XCTAssertEqual(response.status, 403, reference)
            XCTAssertEqual(response.apiStatus, "PermissionDenied")
        }
        XCTAssertEqual(try create([("memory", "32"), ("timeout", "10"), ("template", "mine")]).apiStatus, "TemplateDoesNotExist")
        XCTAssertEqual(try create([("memory", "32"), ("timeout", "10"), ("template", "99999999999999999999")]).status, 404)
    }

    func testOwnerMustBeMeOrAChild() throws {
        _ = try Admin.accountCreate(cluster.connection, name: "stranger")
        let response = try create([("memory", "32"), ("timeout", "10"), ("template", "busybox"), ("owner", "stranger")])
        XCTAssertEqual(response.status, 403)
        _ = try Admin.accountCreate(cluster.connection, name: "child", parent: cluster.account)
        XCTAssertEqual(try create([("memory", "32"), ("timeout", "10"), ("template", "busybox"), ("owner", "child")]).status, 200)
    }

    func testNodeTypeThatNoNodeHasIsRefusedWithAReason() throws {
        let response = try create([("memory", "32"), ("timeout", "10"), ("template", "busybox"), ("node_type", "gpu")])
        XCTAssertEqual(response.status, 503)
        XCTAssertEqual(response.apiStatus, "ResourceNotAvailable")
        XCTAssertTrue((response.json["message"] as? String ?? "").contains("gpu"), response.text)
        XCTAssertEqual(try create([("memory", "32"), ("timeout", "10"), ("template", "busybox"),
                                   ("node_type", "default")]).status, 200)
    }

    func testListFiltersByStateAndPages() throws {
        var ids: [String] = []
        for _ in 0..<3 { ids.append(try cluster.createSandbox(client)) }
        XCTAssertEqual(try client.post("/sandbox/\(ids[0])/kill").status, 200)
        let finished = try client.get("/sandbox/?state=finished").json["sandboxes"] as? [[String: Any]] ?? []
        XCTAssertEqual(finished.compactMap { $0["id"] as? String }, [ids[0]])
        let first = try client.get("/sandbox/?limit=2").json
        let firstPage = (first["sandboxes"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
        XCTAssertEqual(firstPage, [ids[2], ids[1]])
        let next = try XCTUnwrap(first["next"] as? String)
        let second = try client.get("/sandbox/?limit=2&before=\(next)").json
        XCTAssertEqual((second["sandboxes"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }, [ids[0]])
        XCTAssertNil(second["next"])
        XCTAssertEqual(try client.get("/sandbox/?state=sleeping").status, 400)
    }

    func testWaitReturnsWhenTheSandboxEndsOrAtItsTimeout() throws {
        let id = try cluster.createSandbox(client, timeout: 2)
        let start = Date()
        let early = try client.post("/sandbox/\(id)/wait", [("timeout", "0")])
        XCTAssertNotEqual(early.json["state"] as? String, "finished")
        let waited = try client.post("/sandbox/\(id)/wait", [("timeout", "20")])
        XCTAssertEqual(waited.json["state"] as? String, "finished")
        XCTAssertEqual(waited.json["finish_reason"] as? String, "expired")
        XCTAssertLessThan(-start.timeIntervalSinceNow, 6)
    }

    func testStderrIntoStdoutAndStdin() throws {
        let id = try cluster.createSandbox(client)
        let merged = try client.post("/sandbox/\(id)/exec", [("command", "echo a; echo b >&2; echo c"), ("stderr", "stdout")])
        XCTAssertEqual(merged.json["stdout"] as? String, "a\nb\nc\n")
        XCTAssertEqual(merged.json["stderr"] as? String, "")
        let fed = try client.post("/sandbox/\(id)/exec", [("args", #"["cat"]"#), ("stdin", "from stdin"), ("chroot", "true")])
        XCTAssertEqual(fed.json["stdout"] as? String, "from stdin")
    }

    func testAsyncExecResultIsReadLater() throws {
        let id = try cluster.createSandbox(client)
        let started = try client.post("/sandbox/\(id)/exec", [("command", "sleep 0.3; echo later"), ("sync", "false")])
        let execID = try XCTUnwrap(started.json["exec_id"] as? Int)
        XCTAssertTrue(try cluster.eventually(within: 10) {
            try client.get("/sandbox/\(id)/exec/\(execID)").json["finished"] as? Bool == true
        })
        XCTAssertEqual(try client.get("/sandbox/\(id)/exec/\(execID)").json["stdout"] as? String, "later\n")
        XCTAssertEqual(try client.get("/sandbox/\(id)/exec/999999").status, 404)
    }

    func testClusterShowsNodesWithFreeResources() throws {
        _ = try cluster.createSandbox(client, memory: 100)
        let nodes = try client.get("/cluster/").json["nodes"] as? [[String: Any]] ?? []
        XCTAssertEqual(nodes.count, 1)
        let node = try XCTUnwrap(nodes.first)
        XCTAssertEqual(node["name"] as? String, "n1")
        XCTAssertEqual(node["state"] as? String, "up")
        XCTAssertEqual((node["resources"] as? [String: Any])?["memory"] as? Int, 2048 - 100)
        XCTAssertEqual((node["total"] as? [String: Any])?["slots"] as? Int, 16)
    }

    func testBasicAuthVariants() throws {
        // A key may contain ':'; only the first ':' separates it from the name.
        try cluster.connection.query("INSERT INTO accounts (name, key_hash) VALUES ('colon', $1)",
                                     [byteaParameter(APIKey.hash("a:b:c"))])
        let good = "Basic " + Data("colon:a:b:c".utf8).base64EncodedString()
        XCTAssertEqual(try raw([good]).status, 200)
        XCTAssertEqual(try raw(["basic " + Data("colon:a:b:c".utf8).base64EncodedString()]).status, 200)
        let refused: [[String]] = [
            [], ["Basic"], ["Basic !!!"], ["Basic " + Data("nocolon".utf8).base64EncodedString()],
            ["Basic " + Data(":a:b:c".utf8).base64EncodedString()], ["Bearer a:b:c"],
            ["Basic " + Data([0xff, 0xfe, 0x3a, 0x61]).base64EncodedString()], [good, good],
            ["Basic " + String(repeating: "A", count: 12_000)],
            ["Basic " + Data("colon' OR '1'='1:x".utf8).base64EncodedString()],
        ]
        for headers in refused {
            let response = try raw(headers)
            XCTAssertEqual(response.status, 401, "\(headers.map { $0.prefix(40) })")
            XCTAssertNotNil(response.headers["WWW-Authenticate"])
        }
    }

    /// Two accounts, each route, the other's objects: no access across accounts.
    func testNoRouteReachesAnotherAccountsObjects() throws {
        let id = try cluster.createSandbox(client)
        let exec = try XCTUnwrap(try client.post("/sandbox/\(id)/exec", [("command", "true"), ("sync", "false")]).json["exec_id"] as? Int)
        let template = try Admin.templateAdd(cluster.connection, name: "private", rootfs: TestCluster.testDirectory + "/templates/busybox",
                                             owner: cluster.account, isPublic: false, minMemoryMB: 16)
        let otherKey = try Admin.accountCreate(cluster.connection, name: "eve")
        let eve = TestClient(port: client.port, user: "eve", key: otherKey)
        let attempts: [(String, String, [(String, String)])] = [
            ("GET", "/sandbox/\(id)", []), ("POST", "/sandbox/\(id)/exec", [("command", "true")]),
            ("GET", "/sandbox/\(id)/exec/\(exec)", []), ("POST", "/sandbox/\(id)/kill", []),
            ("POST", "/sandbox/\(id)/wait", [("timeout", "0")]), ("GET", "/template/\(template)", []),
            ("POST", "/template/\(template)", [("public", "true")]),
            ("POST", "/sandbox/", [("memory", "32"), ("timeout", "5"), ("template", String(template))]),
        ]
        for (method, path, form) in attempts {
            let response = method == "GET" ? try eve.get(path) : try eve.post(path, form)
            XCTAssertEqual(response.status, 403, "\(method) \(path): \(response.text)")
        }
        XCTAssertEqual((try eve.get("/sandbox/").json["sandboxes"] as? [[String: Any]])?.count, 0)
        XCTAssertFalse((try eve.get("/template/").json["templates"] as? [[String: Any]] ?? []).contains { $0["name"] as? String == "private" })
        XCTAssertNotEqual(try cluster.sandboxState(client, id), "finished", "another account's requests ended the sandbox")
    }

    private func raw(_ authorization: [String]) throws -> TestResponse {
        var anonymous = client!
        anonymous.user = nil
        return try anonymous.send("GET", "/template/", extraHeaders: authorization.map { ("Authorization", $0) })
    }
}

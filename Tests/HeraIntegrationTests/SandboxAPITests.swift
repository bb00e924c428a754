import Foundation
import HeraAdmin
import HeraDB
import HeraHTTP
import XCTest

/// The whole path: HTTP request → reservation → node → sandbox under cgroups → answer.
final class SandboxAPITests: ClusterTestCase {

    func testMissingCredentialsAre401WithChallenge() throws {
        var anonymous = client!
        anonymous.user = nil
        let response = try anonymous.get("/sandbox/")
        XCTAssertEqual(response.status, 401)
        XCTAssertEqual(response.apiStatus, "PermissionDenied")
        XCTAssertNotNil(response.headers["WWW-Authenticate"])
    }

    func testWrongKeyIs401() throws {
        var wrong = client!
        wrong.key = String(repeating: "0", count: 64)
        XCTAssertEqual(try wrong.get("/template/").status, 401)
        wrong.user = "nobody-such"
        XCTAssertEqual(try wrong.get("/template/").status, 401)
    }

    func testHealthzNeedsNoCredentials() throws {
        var anonymous = client!
        anonymous.user = nil
        XCTAssertEqual(try anonymous.get("/healthz").status, 200)
    }

    func testExecReturnsOutputAndExitCode() throws {
        let id = try cluster.createSandbox(client)
        let response = try client.post("/sandbox/\(id)/exec", [("command", "echo out; echo err >&2; exit 3"), ("sync", "true")])
        XCTAssertEqual(response.status, 200, String(decoding: response.body, as: UTF8.self))
        XCTAssertEqual(response.json["stdout"] as? String, "out\n")
        XCTAssertEqual(response.json["stderr"] as? String, "err\n")
        XCTAssertEqual(response.json["code"] as? Int, 3)
        XCTAssertEqual(try cluster.sandboxState(client, id), "running")
    }

    func testExecWithArgsArray() throws {
        let id = try cluster.createSandbox(client)
        let response = try client.post("/sandbox/\(id)/exec", [("args", #"["echo","a b","$HOME"]"#)])
        XCTAssertEqual(response.json["stdout"] as? String, "a b $HOME\n")
        XCTAssertEqual(response.json["code"] as? Int, 0)
    }

    func testMissingProgramIsExitCode127AndTheSandboxLivesOn() throws {
        let id = try cluster.createSandbox(client)
        let response = try client.post("/sandbox/\(id)/exec", [("args", #"["no-such-program"]"#)])
        XCTAssertEqual(response.status, 200, response.text)
        XCTAssertEqual(response.json["code"] as? Int, 127)
        XCTAssertTrue((response.json["stderr"] as? String ?? "").contains("no-such-program"))
        XCTAssertEqual(try cluster.sandboxState(client, id), "running")
    }

    func testUnauthenticatedBodyIsRefusedBeforeItIsRead() throws {
        // Only the head is sent; the 401 must come without waiting for the 8 MB announced.
        let head = "POST /sandbox/ HTTP/1.1\r\nHost: x\r\nContent-Length: 8000000\r\n\r\n"
        let client = HTTPClient(port: client.port, timeout: 5)
        defer { client.close() }
        let start = Date()
        let response = try client.sendRaw(Array(head.utf8))
        XCTAssertEqual(response.status, 401)
        XCTAssertLessThan(-start.timeIntervalSinceNow, 2)
    }

    func testAClientThatHangsUpStopsItsWait() throws {
        let id = try cluster.createSandbox(client)
        XCTAssertEqual(try client.post("/sandbox/\(id)/exec", [("command", "true")]).status, 200)
        let hangingUp = HTTPClient(port: client.port, timeout: 0.5)
        let body = "command=sleep+30"
        let auth = "Basic " + Data("\(cluster.account):\(cluster.key)".utf8).base64EncodedString()
        XCTAssertThrowsError(try hangingUp.send("POST", "/sandbox/\(id)/exec", headers: HTTPHeaders([
            ("Authorization", auth), ("Content-Type", "application/x-www-form-urlencoded")]), body: Array(body.utf8)))
        hangingUp.close()
        XCTAssertTrue(cluster.eventually(within: 5) { cluster.gateways[0].waitingRequests == 0 },
                      "the gateway still waits for a client that hung up")
    }

    func testUpperCaseSandboxIDsWork() throws {
        let id = try cluster.createSandbox(client)
        XCTAssertEqual(try client.get("/sandbox/\(id.uppercased())").json["id"] as? String, id)
    }

    func testTooManyWaitingCommandsIsQueueFull() throws {
        let id = try cluster.createSandbox(client)
        for _ in 0..<64 {
            XCTAssertEqual(try client.post("/sandbox/\(id)/exec", [("command", "sleep 20"), ("sync", "false")]).status, 200)
        }
        let refused = try client.post("/sandbox/\(id)/exec", [("command", "true"), ("sync", "false")])
        XCTAssertEqual(refused.status, 429)
        XCTAssertEqual(refused.apiStatus, "QueueFull")
    }

    func testWrongMethodIs405WithAllow() throws {
        let response = try client.send("DELETE", "/sandbox/")
        XCTAssertEqual(response.status, 405)
        XCTAssertEqual(response.headers["Allow"], "GET, POST")
    }

    func testParentListsAndUsesItsChildsSandboxes() throws {
        let childKey = try Admin.accountCreate(cluster.connection, name: "kid", parent: cluster.account)
        let id = try cluster.createSandbox(client, extra: [("owner", "kid")])
        let listed = try client.get("/sandbox/").json["sandboxes"] as? [[String: Any]] ?? []
        XCTAssertEqual(listed.compactMap { $0["id"] as? String }, [id])
        XCTAssertEqual(listed.first?["owner"] as? String, "kid")
        let child = TestClient(port: client.port, user: "kid", key: childKey)
        XCTAssertEqual(try child.get("/sandbox/\(id)").status, 200)
        // The child may not act for its parent.
        let refused = try child.post("/sandbox/", [("memory", "64"), ("timeout", "10"), ("template", "busybox"),
                                                   ("owner", cluster.account)])
        XCTAssertEqual(refused.status, 403)
    }

    func testSandboxEndsAtExpiry() throws {
        let id = try cluster.createSandbox(client, timeout: 2)
        XCTAssertTrue(try cluster.eventually(within: 5) { try cluster.sandboxState(client, id) == "running" })
        let ended = try cluster.eventually(within: 5) { try cluster.sandboxState(client, id) == "finished" }
        XCTAssertTrue(ended)
        let sandbox = try client.get("/sandbox/\(id)").json
        XCTAssertEqual(sandbox["finish_reason"] as? String, "expired")
        let lifetime = try cluster.connection.query(
            "SELECT extract(epoch FROM finished_at - started_at) AS s FROM sandboxes WHERE id = $1", [id]).first?.double("s") ?? 0
        XCTAssertGreaterThanOrEqual(lifetime, 1.9)
        XCTAssertLessThan(lifetime, 3.5)
        let exec = try client.post("/sandbox/\(id)/exec", [("command", "true")])
        XCTAssertEqual(exec.status, 410)
        XCTAssertEqual(exec.apiStatus, "SandboxNoLongerAlive")
    }

    func testMemoryHogIsStoppedByItsLimit() throws {
        let id = try cluster.createSandbox(client, memory: 32)
        let response = try client.post("/sandbox/\(id)/exec", [("command", "dd if=/dev/zero of=/dev/null bs=200M count=1")])
        XCTAssertEqual(response.status, 200)
        XCTAssertEqual(response.json["oom_killed"] as? Bool, true, String(decoding: response.body, as: UTF8.self))
        XCTAssertEqual(response.json["signal"] as? Int, 9)
        // The sandbox itself survives and still runs commands.
        XCTAssertEqual(try client.post("/sandbox/\(id)/exec", [("command", "echo alive")]).json["stdout"] as? String, "alive\n")
    }

    func testKillEndsTheSandboxAndEveryProcess() throws {
        let id = try cluster.createSandbox(client)
        XCTAssertEqual(try client.post("/sandbox/\(id)/exec", [("command", "setsid sleep 1000"), ("sync", "false")]).status, 200)
        XCTAssertTrue(cluster.eventually(within: 5) { processRunning("sleep 1000") })
        let killed = try client.post("/sandbox/\(id)/kill")
        XCTAssertEqual(killed.status, 200)
        XCTAssertEqual(killed.json["state"] as? String, "finished")
        XCTAssertEqual(killed.json["finish_reason"] as? String, "killed")
        XCTAssertNotNil(killed.json["cpu_seconds"] as? Double, "the node reports what the sandbox used")
        XCTAssertFalse(processRunning("sleep 1000"), "a sandbox process outlived the kill")
        XCTAssertEqual(try client.post("/sandbox/\(id)/kill").status, 410)
    }

    func testUnknownSandboxIs404AndOthersSandboxIs403() throws {
        XCTAssertEqual(try client.get("/sandbox/00000000-0000-0000-0000-000000000000").status, 404)
        XCTAssertEqual(try client.get("/sandbox/not-a-uuid").status, 404)
        let id = try cluster.createSandbox(client)
        let otherKey = try Admin.accountCreate(cluster.connection, name: "mallory")
        let other = TestClient(port: client.port, user: "mallory", key: otherKey)
        XCTAssertEqual(try other.get("/sandbox/\(id)").status, 403)
        XCTAssertEqual(try other.post("/sandbox/\(id)/exec", [("command", "true")]).status, 403)
        XCTAssertEqual(try other.post("/sandbox/\(id)/kill").status, 403)
    }

    func testBadCreateParametersAreMalformedRequest() throws {
        for form in [[("memory", "abc"), ("timeout", "10"), ("template", "busybox")],
                     [("memory", "-5"), ("timeout", "10"), ("template", "busybox")],
                     [("memory", "64"), ("timeout", "100000"), ("template", "busybox")],
                     [("memory", "64"), ("timeout", "10")]] {
            let response = try client.post("/sandbox/", form)
            XCTAssertEqual(response.status, 400, "\(form)")
            XCTAssertEqual(response.apiStatus, "MalformedRequest")
        }
        let tooLittle = try client.post("/sandbox/", [("memory", "8"), ("timeout", "10"), ("template", "busybox")])
        XCTAssertEqual(tooLittle.apiStatus, "NotEnoughMemoryRequested")
        let missing = try client.post("/sandbox/", [("memory", "64"), ("timeout", "10"), ("template", "nope")])
        XCTAssertEqual(missing.status, 404)
        XCTAssertEqual(missing.apiStatus, "TemplateDoesNotExist")
        let huge = try client.post("/sandbox/", [("memory", "100000"), ("timeout", "10"), ("template", "busybox")])
        XCTAssertEqual(huge.status, 503)
        XCTAssertEqual(huge.apiStatus, "ResourceNotAvailable")
        XCTAssertNotNil(huge.headers["Retry-After"])
    }

    func testTemplatesListGetAndUpdate() throws {
        let list = try client.get("/template/").json["templates"] as? [[String: Any]] ?? []
        XCTAssertEqual(list.map { $0["name"] as? String }, ["busybox"])
        XCTAssertEqual(try client.get("/template/busybox").json["id"] as? Int, cluster.templateID)
        XCTAssertEqual(try client.get("/template/\(cluster.templateID)").json["name"] as? String, "busybox")
        // A system template belongs to the operator.
        XCTAssertEqual(try client.post("/template/busybox", [("public", "false")]).status, 403)
        XCTAssertEqual(try client.get("/template/999").status, 404)
    }
}

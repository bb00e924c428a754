import Foundation
import HeraDB
import HeraSupport
@testable import HeraAdmin
import XCTest

/// Every operator verb, through the built binary: output, exit status, one-line errors, no secrets.
final class CLITests: XCTestCase {
    var cluster: TestCluster!
    var hera: HeraCommand!

    override func setUpWithError() throws {
        cluster = try TestCluster()
        hera = HeraCommand(databaseURL: cluster.databaseURL)
    }

    override func tearDown() {
        cluster.shutdown()
    }

    /// Runs a verb that must succeed; returns its stdout.
    @discardableResult
    private func ok(_ arguments: String..., file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let outcome = try hera.run(arguments)
        XCTAssertEqual(outcome.status, 0, "hera \(arguments.joined(separator: " ")): \(outcome.stderr)", file: file, line: line)
        return outcome.stdout
    }

    /// Runs a verb that must fail with one line on stderr containing `message`.
    private func fails(_ arguments: String..., saying message: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let outcome = try hera.run(arguments)
        XCTAssertNotEqual(outcome.status, 0, "hera \(arguments.joined(separator: " ")) succeeded", file: file, line: line)
        XCTAssertEqual(outcome.stderr.filter { $0 == "\n" }.count, 1, "one line: \(outcome.stderr)", file: file, line: line)
        XCTAssertTrue(outcome.stderr.contains(message), "\(outcome.stderr) should say \(message)", file: file, line: line)
        XCTAssertEqual(outcome.stdout, "", file: file, line: line)
    }

    private func keyHash(_ account: String) throws -> [UInt8]? {
        try cluster.connection.query("SELECT key_hash FROM accounts WHERE name = $1", [account]).first?.bytes("key_hash")
    }

    func testEveryVerbHasHelp() throws {
        for verb in Verbs.all {
            let outcome = try hera.run([verb.group, verb.name, "--help"])
            XCTAssertEqual(outcome.status, 0, "\(verb.usage)")
            XCTAssertTrue(outcome.stdout.hasPrefix("usage: hera \(verb.group) \(verb.name)"), outcome.stdout)
        }
        for group in CLI.groups {
            XCTAssertTrue(try ok(group, "--help").contains("hera \(group) "), group)
        }
    }

    func testAccountVerbs() throws {
        let key = try ok("account", "create", "acme").trimmingCharacters(in: .newlines)
        XCTAssertEqual(try keyHash("acme"), APIKey.hash(key), "create prints the key alone")
        try fails("account", "create", "acme", saying: "account acme already exists")
        try ok("account", "create", "acme-dev", "--parent", "acme")

        let rotated = try ok("account", "rotate-key", "acme").trimmingCharacters(in: .newlines)
        XCTAssertNotEqual(rotated, key)
        XCTAssertEqual(try keyHash("acme"), APIKey.hash(rotated))
        try fails("account", "rotate-key", "nobody", saying: "no account nobody")

        try ok("account", "disable", "acme")
        XCTAssertEqual(try cluster.connection.query("SELECT disabled FROM accounts WHERE name = 'acme'").first?.bool("disabled"), true)
        try ok("account", "enable", "acme")
        XCTAssertEqual(try cluster.connection.query("SELECT disabled FROM accounts WHERE name = 'acme'").first?.bool("disabled"), false)

        try ok("account", "set-quota", "acme", "--max-memory-mb", "1024", "--max-sandboxes", "10")
        try ok("account", "set-quota", "acme", "--max-memory-mb", "none")
        let quota = try cluster.connection.query("SELECT max_memory_mb, max_sandboxes FROM accounts WHERE name = 'acme'").first
        XCTAssertNil(quota?["max_memory_mb"])
        XCTAssertEqual(quota?.int("max_sandboxes"), 10)
        try fails("account", "set-quota", "acme", "--max-sandboxes", "-3", saying: "--max-sandboxes must be")
        try fails("account", "set-quota", "acme", saying: "usage: hera account set-quota")

        try fails("account", "set-parent", "acme", "acme-dev", saying: "cannot be their own ancestors")
        try ok("account", "set-parent", "acme-dev", "--none")
        try ok("account", "set-parent", "acme", cluster.account)

        let show = try ok("account", "show", "acme")
        XCTAssertTrue(show.contains("parent:") && show.contains(cluster.account) && show.contains("max_sandboxes:  10"), show)
        let list = try ok("account", "list", "--format", "json")
        let accounts = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(list.utf8)) as? [[String: Any]])
        XCTAssertEqual(accounts.compactMap { $0["account"] as? String }.sorted(), ["acme", "acme-dev", cluster.account].sorted())
        let hashHex = Hex.encode(try XCTUnwrap(try keyHash("acme")))
        for output in [show, list, try ok("account", "list"), try ok("account", "list", "--format", "csv")] {
            XCTAssertFalse(output.contains(hashHex) || output.contains(rotated), "no secret in listings")
        }
        try fails("account", "show", "nobody", saying: "no account nobody")
        try fails("account", "list", "--format", "xml", saying: "--format must be table, csv or json")
    }

    func testTemplateVerbs() throws {
        let directory = TestCluster.testDirectory + "/templates/cli-root"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let id = try ok("template", "import", directory, "--min-memory-mb", "32",
                        "--template-dir", cluster.templateStore(node: "cli")).trimmingCharacters(in: .newlines)
        XCTAssertNotNil(Int(id))
        try ok("template", "set-public", "cli-root", "true")
        try ok("template", "set-min-memory", "cli-root", "48")
        let row = try cluster.connection.query("SELECT public, min_memory_mb FROM templates WHERE name = 'cli-root'").first
        XCTAssertEqual(row?.bool("public"), true)
        XCTAssertEqual(row?.int("min_memory_mb"), 48)
        XCTAssertTrue(try ok("template", "list").contains("cli-root"))
        try fails("template", "set-min-memory", "cli-root", "0", saying: "MB must be a whole number > 0")
        try fails("template", "set-public", "nothing", "true", saying: "no template nothing")

        _ = try cluster.registerNode("n1", memory: 1000, slots: 4)
        let id2 = try XCTUnwrap(try cluster.reserve(memory: 64).id)
        try fails("template", "remove", "busybox", saying: "in use by 1 live sandboxes")
        try cluster.finish(id2, "killed")
        try fails("template", "remove", "busybox", saying: "finished sandboxes and their usage refer to it")
        try ok("template", "remove", "cli-root")
        XCTAssertFalse(try ok("template", "list").contains("cli-root"))
    }

    func testNodeVerbs() throws {
        _ = try cluster.registerNode("n1", memory: 1000, slots: 4)
        XCTAssertTrue(try ok("node", "list").contains("n1"))
        try ok("node", "drain", "n1")
        XCTAssertEqual(try cluster.reserve(memory: 64).status, "ResourceNotAvailable", "a drained node takes no sandbox")
        try ok("node", "undrain", "n1")
        let id = try XCTUnwrap(try cluster.reserve(memory: 64).id)
        try fails("node", "forget", "n1", saying: "has 1 live sandboxes")
        try cluster.finish(id, "killed")
        try fails("node", "forget", "n1", saying: "still heart-beating")
        try cluster.connection.query("UPDATE nodes SET heartbeat_at = now() - interval '1 hour'")
        try ok("node", "forget", "n1")
        XCTAssertEqual(try cluster.connection.query("SELECT count(*) AS n FROM nodes").first?.int("n"), 0)
        XCTAssertEqual(try cluster.connection.query("SELECT node_name FROM sandbox_usage").first?["node_name"], "n1",
                       "usage keeps the forgotten node's name")
        try fails("node", "drain", "n1", saying: "no node n1")
    }

    func testReportUsage() throws {
        _ = try cluster.registerNode("n1", memory: 1000, slots: 4)
        let id = try XCTUnwrap(try cluster.reserve(memory: 100).id)
        try cluster.markRunning(id, secondsAgo: 60)
        try cluster.finish(id, "killed")
        let json = try ok("report", "usage", "--since", "yesterday", "--format", "json")
        let rows = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [[String: Any]])
        XCTAssertEqual(rows.count, 1)
        XCTAssertEqual(rows.first?["account"] as? String, cluster.account)
        XCTAssertEqual(rows.first?["mb_seconds"] as? Double ?? 0, 6000, accuracy: 200)
        let csv = try ok("report", "usage", "--since", "yesterday", "--until", "tomorrow", "--account", cluster.account, "--format", "csv")
        XCTAssertTrue(csv.hasPrefix("account,sandboxes,mb_seconds,gb_hours,cost,currency\n\(cluster.account),1,"), csv)
        XCTAssertTrue(try ok("report", "usage", "--since", "yesterday").contains(cluster.account))
        try fails("report", "usage", "--since", "soon", saying: "must be dates or times")
        try fails("report", "usage", "--since", "tomorrow", "--until", "yesterday", saying: "--since must be before --until")
        try fails("report", "usage", saying: "usage: hera report usage")
        try fails("report", "usage", "--since", "yesterday", "--account", "nobody", saying: "no account nobody")
    }

    func testUnknownVerbAndUnreachableDatabaseAreOneLineErrors() throws {
        try fails("account", "frobnicate", saying: "unknown verb")
        let unreachable = HeraCommand(databaseURL: "host=/nonexistent-hera-socket")
        let outcome = try unreachable.run(["account", "list"])
        XCTAssertEqual(outcome.status, 1)
        XCTAssertEqual(outcome.stderr.filter { $0 == "\n" }.count, 1, outcome.stderr)
    }
}

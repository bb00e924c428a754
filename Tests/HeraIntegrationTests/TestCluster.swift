import Foundation
import HeraAdmin
import HeraDB
import HeraGateway
import HeraNode
import HeraSandbox
import XCTest

/// A real Hera cluster inside the test process: gateways and node workers on a fresh database,
/// one account and the busybox template. `shutdown()` stops them all (call it in tearDown).
final class TestCluster {
    let databaseURL: String
    let connection: PGConnection
    let account = "alice"
    let key: String
    let templateID: Int
    /// Under it, each node's template store (template ids start anew with each database).
    let templateStores = TestCluster.testDirectory + "/stores/" + UUID().uuidString
    private(set) var gateways: [Gateway] = []
    private(set) var nodes: [NodeWorker] = []

    static let templateName = "busybox"

    init() throws {
        databaseURL = try TestDatabase.fresh()
        connection = try PGConnection(databaseURL)
        key = try Admin.accountCreate(connection, name: account)
        templateID = try Admin.templateAdd(connection, name: TestCluster.templateName, rootfs: try TestCluster.busyboxRootfs(),
                                           isPublic: true, minMemoryMB: 16)
    }

    /// Starts a gateway on a free port and returns a client authenticated as the test account.
    @discardableResult
    func addGateway(maxTimeout: Int = 3600, maxQueued: Int = 100, backfillLimit: Double = 30,
                    maxTemplates: Int = 100, maxTemplateMB: Int = 10_240) throws -> TestClient {
        var config = GatewayConfig()
        config.port = 0
        config.databaseURL = databaseURL
        config.maxTimeoutSeconds = maxTimeout
        config.maxQueuedPerAccount = maxQueued
        config.maxTemplatesPerAccount = maxTemplates
        config.maxTemplateMBPerAccount = maxTemplateMB
        config.queueBackfillLimitSeconds = backfillLimit
        config.webhookAllowPrivate = true
        let gateway = try Gateway(config: config)
        gateway.start()
        gateways.append(gateway)
        return client(gateway)
    }

    func client(_ gateway: Gateway? = nil) -> TestClient {
        TestClient(port: (gateway ?? gateways[0]).port, user: account, key: key)
    }

    /// Starts a real node worker (cgroups, namespaces) with the given capacity.
    @discardableResult
    func addNode(_ name: String, memoryMB: Int = 2048, slots: Int = 16, type: String = "default",
                 pidsMax: Int = NodeConfig.defaultPidsMax) throws -> NodeWorker {
        var config = NodeConfig(launcherCommand: [try heraBinary(), "__launch"])
        config.name = name
        config.nodeType = type
        config.memoryMB = memoryMB
        config.slots = slots
        config.pidsMax = pidsMax
        config.databaseURL = databaseURL
        config.scratchRoot = TestCluster.testDirectory + "/scratch-" + name
        config.templateDirectory = templateStore(node: name)
        // Unique per test process: test runs side by side never touch each other's sandboxes.
        config.cgroupParent = TestCluster.cgroupParent(name)
        let node = try NodeWorker(config: config)
        try node.start()
        nodes.append(node)
        return node
    }

    func templateStore(node: String) -> String { templateStores + "/" + node }

    func shutdown() {
        gateways.forEach { $0.stop(grace: 1) }
        nodes.forEach { $0.stop() }
        gateways = []
        nodes = []
    }

    /// Creates a sandbox through the API and returns its id (fails the test otherwise).
    func createSandbox(_ client: TestClient, memory: Int = 64, timeout: Int = 60, extra: [(String, String)] = [],
                       file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let response = try client.post("/sandbox/", [("memory", String(memory)), ("timeout", String(timeout)),
                                                     ("template", TestCluster.templateName)] + extra)
        guard response.status == 200, let id = response.json["id"] as? String else {
            XCTFail("create failed: \(response.status) \(String(decoding: response.body, as: UTF8.self))", file: file, line: line)
            throw TestClientError("create failed")
        }
        return id
    }

    /// Polls until `condition` holds or `seconds` pass; returns whether it held.
    func eventually(within seconds: Double, _ condition: () throws -> Bool) rethrows -> Bool {
        let deadline = Date(timeIntervalSinceNow: seconds)
        while Date() < deadline {
            if try condition() { return true }
            usleep(50_000)
        }
        return try condition()
    }

    func sandboxState(_ client: TestClient, _ id: String) throws -> String {
        try client.get("/sandbox/\(id)").json["state"] as? String ?? ""
    }

    /// Per node: reserved memory and slots must equal the sums over its unfinished sandboxes.
    func checkReservationsMatchSandboxes(file: StaticString = #filePath, line: UInt = #line) throws {
        let rows = try connection.query("""
            SELECT n.name, n.memory_reserved_mb, n.slots_reserved, n.memory_total_mb, n.slots_total,
                   coalesce(sum(s.reserved_memory_mb), 0) AS memory_sum, coalesce(sum(s.reserved_slots), 0) AS slots_sum
            FROM nodes n LEFT JOIN sandboxes s ON s.node_id = n.id AND s.state <> 'finished'
            GROUP BY n.id
            """).rows
        for row in rows {
            XCTAssertEqual(row.int("memory_reserved_mb"), row.int("memory_sum"), "node \(row["name"] ?? "")", file: file, line: line)
            XCTAssertEqual(row.int("slots_reserved"), row.int("slots_sum"), "node \(row["name"] ?? "")", file: file, line: line)
            XCTAssertLessThanOrEqual(row.int("memory_reserved_mb") ?? 0, row.int("memory_total_mb") ?? 0, file: file, line: line)
        }
    }

    /// A test node's cgroup parent, under the test process's own cgroups.
    static func cgroupParent(_ node: String) -> String { "hera-test-\(getpid())/" + node }

    /// The sandbox cgroups a test node has right now, in the memory and pids hierarchies.
    func nodeCgroups(_ node: String) -> [String] {
        var found: [String] = []
        for (controller, directory) in nodeCgroupParents(node) {
            let children = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
            var isDirectory: ObjCBool = false
            found += children.filter {
                FileManager.default.fileExists(atPath: directory + "/" + $0, isDirectory: &isDirectory) && isDirectory.boolValue
            }.map { "\(controller):\($0)" }
        }
        return found
    }

    /// A test node's cgroup parent directories in the memory and pids hierarchies.
    func nodeCgroupParents(_ node: String) -> [(controller: String, directory: String)] {
        let membership = (try? String(contentsOfFile: "/proc/self/cgroup", encoding: .utf8)) ?? ""
        return ["memory", "pids"].compactMap { controller in
            guard let line = membership.split(separator: "\n").first(where: { $0.split(separator: ":")[1] == controller }),
                  let own = line.split(separator: ":", maxSplits: 2).last else { return nil }
            return (controller, "/sys/fs/cgroup/\(controller)\(own == "/" ? "" : own)/\(TestCluster.cgroupParent(node))")
        }
    }

    static var testDirectory: String {
        ProcessInfo.processInfo.environment["HERA_TEST_DIR"] ?? NSTemporaryDirectory() + "hera-test-\(getpid())"
    }

    private static func busyboxRootfs() throws -> String {
        let directory = try TemplateStore(directory: testDirectory + "/templates").directory + "/busybox"
        try DefaultTemplate.build(at: directory)
        return directory
    }
}

import Foundation
import XCTest
@testable import HeraSandbox

/// The drivers against fake cgroupfs trees in a temporary directory.
final class CgroupDriverTests: XCTestCase {
    private var root = ""

    override func setUpWithError() throws {
        root = NSTemporaryDirectory() + "hera-fake-cgroup-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try FileManager.default.removeItem(atPath: root)
    }

    private func read(_ path: String) throws -> String { try SystemFile.read(root + path) }

    private func write(_ text: String, _ path: String) throws { try SystemFile.write(text, to: root + path) }

    func testV2EnablesControllersAndWritesLimits() throws {
        try FileManager.default.createDirectory(atPath: root + "/worker", withIntermediateDirectories: true)
        try write("cpu memory pids io", "/cgroup.subtree_control")
        let driver = try CgroupV2Driver(mountRoot: root, parent: "/worker/hera")
        XCTAssertEqual(driver.version, 2)
        XCTAssertEqual(try read("/cgroup.subtree_control"), "cpu memory pids io", "already enabled: left alone")
        XCTAssertEqual(try read("/worker/cgroup.subtree_control"), "+memory +pids +cpu")
        XCTAssertEqual(try read("/worker/hera/cgroup.subtree_control"), "+memory +pids +cpu")

        try driver.create(sandbox: "abc-1", limits: SandboxLimits(memoryMB: 32, pidsMax: 100, cpuShares: 512, scratchMB: 8))
        XCTAssertEqual(try read("/worker/hera/abc-1/memory.max"), String(32 * 1024 * 1024))
        XCTAssertEqual(try read("/worker/hera/abc-1/memory.swap.max"), "0")
        XCTAssertEqual(try read("/worker/hera/abc-1/pids.max"), "100")
        XCTAssertEqual(try read("/worker/hera/abc-1/cpu.weight"), "20")
        XCTAssertEqual(driver.procsFiles(sandbox: "abc-1"), [root + "/worker/hera/abc-1/cgroup.procs"])
        XCTAssertEqual(try driver.sandboxNames(), ["abc-1"])
        XCTAssertThrowsError(try driver.create(sandbox: "abc-1", limits: SandboxLimits(memoryMB: 32)), "an existing cgroup is an error")
    }

    func testV2CountsOOMKillsAndKillsThroughCgroupKill() throws {
        let driver = try CgroupV2Driver(mountRoot: root, parent: "/hera")
        try driver.create(sandbox: "abc", limits: SandboxLimits(memoryMB: 16))
        try write("low 0\nhigh 0\nmax 4\noom 2\noom_kill 2\noom_group_kill 0\n", "/hera/abc/memory.events")
        XCTAssertEqual(try driver.oomKillCount(sandbox: "abc"), 2)

        try write("", "/hera/abc/cgroup.kill")
        try write("", "/hera/abc/cgroup.procs")
        XCTAssertEqual(try driver.killAll(sandbox: "abc"), [])
        XCTAssertEqual(try read("/hera/abc/cgroup.kill"), "1")
    }

    func testV2CpuWeightConversion() {
        XCTAssertEqual(CgroupV2Driver.weight(fromShares: 2), 1)
        XCTAssertEqual(CgroupV2Driver.weight(fromShares: 1024), 39)
        XCTAssertEqual(CgroupV2Driver.weight(fromShares: 262_144), 10000)
    }

    func testV1FailureRemovesWhatWasCreated() throws {
        let parents = CgroupV1Driver.controllers.reduce(into: [String: String]()) { $0[$1] = root + "/" + $1 + "/hera" }
        let driver = try CgroupV1Driver(parents: parents)
        try FileManager.default.createDirectory(atPath: root + "/cpu/hera/abc", withIntermediateDirectories: true)
        XCTAssertThrowsError(try driver.create(sandbox: "abc", limits: SandboxLimits(memoryMB: 16))) { error in
            guard case SandboxError.cgroup(let message) = error else { return XCTFail("unexpected \(error)") }
            XCTAssertTrue(message.contains("already exists"), message)
        }
        XCTAssertFalse(SystemFile.exists(root + "/memory/hera/abc"))
        XCTAssertFalse(SystemFile.exists(root + "/pids/hera/abc"))
    }

    func testV1WritesLimitsInEachHierarchy() throws {
        let parents = CgroupV1Driver.controllers.reduce(into: [String: String]()) { $0[$1] = root + "/" + $1 + "/worker/hera" }
        let driver = try CgroupV1Driver(parents: parents)

        try driver.create(sandbox: "abc", limits: SandboxLimits(memoryMB: 8, pidsMax: 50, cpuShares: 256))
        XCTAssertEqual(try read("/memory/worker/hera/abc/memory.limit_in_bytes"), String(8 << 20))
        XCTAssertEqual(try read("/pids/worker/hera/abc/pids.max"), "50")
        XCTAssertEqual(try read("/cpu/worker/hera/abc/cpu.shares"), "256")
        XCTAssertEqual(driver.procsFiles(sandbox: "abc").count, 3)
        try write("oom_kill_disable 0\nunder_oom 0\noom_kill 5\n", "/memory/worker/hera/abc/memory.oom_control")
        XCTAssertEqual(try driver.oomKillCount(sandbox: "abc"), 5)
        try write("", "/memory/worker/hera/abc/cgroup.procs")
        XCTAssertEqual(try driver.processes(sandbox: "abc"), [])
    }
}

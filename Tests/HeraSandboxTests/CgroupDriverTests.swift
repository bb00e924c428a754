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
        XCTAssertFalse(SystemFile.exists(root + "/worker/hera/abc-1/cpu.max"), "no cap asked for: cpu.max left alone")
        XCTAssertEqual(try read("/worker/hera/abc-1/cgroup.subtree_control"), "+memory +pids +cpu", "the leaves get the controllers")
        XCTAssertTrue(SystemFile.isDirectory(root + "/worker/hera/abc-1/init"))
        XCTAssertEqual(driver.procsFiles(sandbox: "abc-1"), [root + "/worker/hera/abc-1/init/cgroup.procs"], "the init joins its leaf")
        XCTAssertEqual(driver.directories(sandbox: "abc-1"), [root + "/worker/hera/abc-1"])
        XCTAssertEqual(try driver.sandboxNames(), ["abc-1"])
        XCTAssertThrowsError(try driver.create(sandbox: "abc-1", limits: SandboxLimits(memoryMB: 32)), "an existing cgroup is an error")
    }

    func testV2CpuCapWritesCpuMax() throws {
        let driver = try CgroupV2Driver(mountRoot: root, parent: "/hera")
        try driver.create(sandbox: "abc", limits: SandboxLimits(memoryMB: 16, cpuMaxCores: 1.5))
        XCTAssertEqual(try read("/hera/abc/cpu.max"), "150000 100000")
        try driver.create(sandbox: "tiny", limits: SandboxLimits(memoryMB: 16, cpuMaxCores: 0.001))
        XCTAssertEqual(try read("/hera/tiny/cpu.max"), "1000 100000", "the kernel's minimum quota")
    }

    func testV2SandboxUsageSumsLocalOOMKillsAndKillsThroughCgroupKill() throws {
        let driver = try CgroupV2Driver(mountRoot: root, parent: "/hera")
        try driver.create(sandbox: "abc", limits: SandboxLimits(memoryMB: 16))
        try driver.createExecCgroup("exec-1", sandbox: "abc")
        try write("user_usec 1500000\nsystem_usec 250000\nusage_usec 1750000\n", "/hera/abc/cpu.stat")
        try write("1048576\n", "/hera/abc/memory.peak")
        try write("7\n", "/hera/abc/pids.peak")
        // memory.events is hierarchical; the sum runs over the local counts.
        try write("low 0\nhigh 0\nmax 4\noom 3\noom_kill 3\noom_group_kill 0\n", "/hera/abc/memory.events")
        try write("low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\noom_group_kill 0\n", "/hera/abc/memory.events.local")
        try write("oom_kill 1\n", "/hera/abc/init/memory.events.local")
        try write("oom_kill 2\n", "/hera/abc/exec-1/memory.events.local")
        XCTAssertEqual(try driver.usage(sandbox: "abc"),
                       CgroupUsage(cpuUserSeconds: 1.5, cpuSystemSeconds: 0.25, peakMemoryBytes: 1 << 20, peakPids: 7, oomKills: 3))

        try write("", "/hera/abc/cgroup.kill")
        try write("", "/hera/abc/cgroup.procs")
        try write("12\n", "/hera/abc/init/cgroup.procs")
        try write("34\n", "/hera/abc/exec-1/cgroup.procs")
        XCTAssertEqual(try driver.processes(sandbox: "abc"), [12, 34], "the leaves' processes are the sandbox's")
        XCTAssertEqual(try driver.killAll(sandbox: "abc"), [12, 34])
        XCTAssertEqual(try read("/hera/abc/cgroup.kill"), "1")
    }

    func testV2ExecCgroupIsALeafWithItsOwnUsageAndKill() throws {
        let driver = try CgroupV2Driver(mountRoot: root, parent: "/hera")
        try driver.create(sandbox: "abc", limits: SandboxLimits(memoryMB: 16))
        try driver.createExecCgroup("exec-4", sandbox: "abc")
        XCTAssertEqual(driver.procsFiles(execCgroup: "exec-4", sandbox: "abc"), [root + "/hera/abc/exec-4/cgroup.procs"])
        XCTAssertThrowsError(try driver.createExecCgroup("exec-4", sandbox: "abc"), "an existing cgroup is an error")
        try write("user_usec 10\nsystem_usec 20\n", "/hera/abc/exec-4/cpu.stat")
        try write("oom_kill 1\n", "/hera/abc/exec-4/memory.events.local")
        XCTAssertEqual(try driver.usage(execCgroup: "exec-4", sandbox: "abc"),
                       CgroupUsage(cpuUserSeconds: 0.00001, cpuSystemSeconds: 0.00002, peakMemoryBytes: nil, peakPids: nil, oomKills: 1),
                       "no memory.peak or pids.peak on older kernels: nil, not 0")
        try write("", "/hera/abc/cgroup.kill")
        try write("99\n", "/hera/abc/exec-4/cgroup.procs")
        try write("", "/hera/abc/exec-4/cgroup.kill")
        XCTAssertEqual(try driver.killAll(execCgroup: "exec-4", sandbox: "abc"), [99])
        XCTAssertEqual(try read("/hera/abc/exec-4/cgroup.kill"), "1")
        XCTAssertEqual(try read("/hera/abc/cgroup.kill").isEmpty, true, "only the exec's cgroup is killed")
    }

    func testV2ExecCgroupRemoval() throws {
        let driver = try CgroupV2Driver(mountRoot: root, parent: "/hera")
        try driver.create(sandbox: "abc", limits: SandboxLimits(memoryMB: 16))
        try driver.createExecCgroup("exec-1", sandbox: "abc")
        try driver.removeExecCgroup("exec-1", sandbox: "abc")
        XCTAssertFalse(SystemFile.exists(root + "/hera/abc/exec-1"))
        try driver.removeExecCgroup("exec-1", sandbox: "abc")  // missing is fine
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

    func testV1SharedCpuAndCpuacctHierarchyIsUsedOnce() throws {
        let parents = ["memory": root + "/memory/hera", "pids": root + "/pids/hera",
                       "cpu": root + "/cpu,cpuacct/hera", "cpuacct": root + "/cpu,cpuacct/hera"]
        let driver = try CgroupV1Driver(parents: parents)
        try driver.create(sandbox: "abc", limits: SandboxLimits(memoryMB: 8, cpuMaxCores: 0.25))
        XCTAssertEqual(driver.directories(sandbox: "abc").count, 3)
        XCTAssertEqual(try read("/cpu,cpuacct/hera/abc/cpu.cfs_period_us"), "100000")
        XCTAssertEqual(try read("/cpu,cpuacct/hera/abc/cpu.cfs_quota_us"), "25000")
        try driver.createExecCgroup("exec-1", sandbox: "abc")
        XCTAssertEqual(driver.procsFiles(execCgroup: "exec-1", sandbox: "abc").sorted(),
                       ["/cpu,cpuacct", "/memory", "/pids"].map { root + $0 + "/hera/abc/exec-1/cgroup.procs" })
    }

    func testV1WritesLimitsInEachHierarchy() throws {
        let parents = CgroupV1Driver.controllers.reduce(into: [String: String]()) { $0[$1] = root + "/" + $1 + "/worker/hera" }
        let driver = try CgroupV1Driver(parents: parents)

        try driver.create(sandbox: "abc", limits: SandboxLimits(memoryMB: 8, pidsMax: 50, cpuShares: 256))
        XCTAssertEqual(try read("/memory/worker/hera/abc/memory.limit_in_bytes"), String(8 << 20))
        XCTAssertEqual(try read("/pids/worker/hera/abc/pids.max"), "50")
        XCTAssertEqual(try read("/cpu/worker/hera/abc/cpu.shares"), "256")
        XCTAssertFalse(SystemFile.exists(root + "/cpu/worker/hera/abc/cpu.cfs_quota_us"), "no cap asked for")
        XCTAssertEqual(driver.procsFiles(sandbox: "abc"),
                       CgroupV1Driver.controllers.map { root + "/" + $0 + "/worker/hera/abc/init/cgroup.procs" })

        try driver.createExecCgroup("exec-2", sandbox: "abc")
        for (path, text) in [("abc", "oom_kill 0\n"), ("abc/init", "oom_kill 1\n"), ("abc/exec-2", "oom_kill 5\n")] {
            try write("oom_kill_disable 0\nunder_oom 0\n" + text, "/memory/worker/hera/\(path)/memory.oom_control")
        }
        try write("3000000000\n", "/cpuacct/worker/hera/abc/exec-2/cpuacct.usage_user")
        try write("500000000\n", "/cpuacct/worker/hera/abc/exec-2/cpuacct.usage_sys")
        try write("52428800\n", "/memory/worker/hera/abc/exec-2/memory.max_usage_in_bytes")
        XCTAssertEqual(try driver.usage(execCgroup: "exec-2", sandbox: "abc"),
                       CgroupUsage(cpuUserSeconds: 3, cpuSystemSeconds: 0.5, peakMemoryBytes: 50 << 20, peakPids: nil, oomKills: 5))
        XCTAssertEqual(try driver.usage(sandbox: "abc").oomKills, 6, "v1 counts kills locally: the sandbox sums its leaves")
        try write("", "/memory/worker/hera/abc/cgroup.procs")
        try write("41\n", "/pids/worker/hera/abc/exec-2/cgroup.procs")
        XCTAssertEqual(try driver.processes(sandbox: "abc"), [41])
        XCTAssertEqual(try driver.processes(execCgroup: "exec-2", sandbox: "abc"), [41])
    }
}

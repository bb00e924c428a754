import XCTest
@testable import HeraSandbox

/// The launcher's inputs and outputs, without running it.
final class SandboxPlanTests: XCTestCase {
    private let spec = SandboxSpec(id: "0a1b-2c", rootfs: "/templates/base", hostname: "box",
                                   limits: SandboxLimits(memoryMB: 64, scratchMB: 16))

    func testStartPlanOrder() {
        let plan = SandboxPlan(spec: spec, scratchDirectory: "/scratch/0a1b-2c", cgroupProcsFiles: ["/cg/memory/procs", "/cg/pids/procs"])
        let names = plan.steps.map(\.reportedName)
        XCTAssertEqual(Array(names.prefix(4)), ["cgroup-join", "cgroup-join", "unshare", "fork-init"])
        XCTAssertEqual(Array(names.suffix(3)), ["sethostname", "loopback-up", "pivot_root"])
        for (earlier, later) in [("mount-private", "mount-scratch"), ("mount-scratch", "mount-template"),
                                 ("mount-template", "mount-template-readonly"), ("mount-template-readonly", "copy-owner"),
                                 ("copy-owner", "mount-overlay"),
                                 ("mount-overlay", "mount-proc"), ("mount-overlay", "mount-dev"), ("mount-dev", "mknod")] {
            XCTAssertLessThan(names.firstIndex(of: earlier)!, names.firstIndex(of: later)!, "\(earlier) before \(later)")
        }
        XCTAssertTrue(plan.steps.contains(.mount(label: "overlay", source: "overlay", target: "/scratch/0a1b-2c/root", fsType: "overlay",
            flags: [.nosuid, .nodev],
            data: "lowerdir=/scratch/0a1b-2c/lower,upperdir=/scratch/0a1b-2c/upper,workdir=/scratch/0a1b-2c/work")))
        XCTAssertTrue(plan.steps.contains(.mount(label: "scratch", source: "tmpfs", target: "/scratch/0a1b-2c", fsType: "tmpfs",
            flags: [.nosuid, .nodev], data: "size=16m,nr_inodes=16384,mode=0700")))
        XCTAssertTrue(plan.steps.contains(.changeMode(path: "/scratch/0a1b-2c/root/tmp", mode: 0o1777)))
    }

    func testStepSerialization() {
        XCTAssertEqual(SandboxStep.mount(label: "template-readonly", source: "none", target: "/l", fsType: nil,
                                         flags: [.bind, .remount, .rdonly], data: nil).launcherArguments,
                       ["mount", "template-readonly", "none", "/l", "-", "bind,remount,rdonly", "-"])
        XCTAssertEqual(SandboxStep.makeDirectory(path: "/r/tmp", mode: 0o1777).launcherArguments, ["mkdir", "/r/tmp", "1777"])
        XCTAssertEqual(SandboxStep.makeCharDevice(path: "/r/dev/null", major: 1, minor: 3).launcherArguments, ["mknod", "/r/dev/null", "1", "3"])
        let plan = SandboxPlan(spec: spec, scratchDirectory: "/s", cgroupProcsFiles: [])
        XCTAssertEqual(plan.launcherArguments, ["start"], "the steps go through the plan fd, not argv")
        XCTAssertEqual(SandboxStep.maskFile(path: "/r/proc/kcore", nullDevice: "/r/dev/null").launcherArguments,
                       ["mask-file", "/r/proc/kcore", "/r/dev/null"])
        let words = plan.serialized.split(separator: 0, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
        XCTAssertEqual(words, plan.steps.flatMap(\.launcherArguments) + [""], "NUL-terminated words")
    }

    func testProcIsMaskedAfterDevExists() {
        let plan = SandboxPlan(spec: spec, scratchDirectory: "/s", cgroupProcsFiles: [])
        let names = plan.steps.map(\.reportedName)
        XCTAssertLessThan(names.lastIndex(of: "mknod")!, names.firstIndex(of: "mask-file")!, "the null device exists first")
        XCTAssertLessThan(names.lastIndex(of: "mask-dir")!, names.firstIndex(of: "pivot_root")!)
        XCTAssertTrue(plan.steps.contains(.maskFile(path: "/s/root/proc/sysrq-trigger", nullDevice: "/s/root/dev/null")))
        XCTAssertTrue(plan.steps.contains(.makeReadOnly(path: "/s/root/proc/sys")))
        XCTAssertTrue(plan.steps.contains(.maskDirectory(path: "/s/root/proc/acpi")))
    }

    func testExecPlanMergesTheDefaultEnvironment() {
        let request = ExecRequest(args: ["ls", "-l"], env: ["HOME": "/home", "A": "1"], cwd: "/tmp")
        XCTAssertEqual(ExecPlan(initPid: 42, cgroupProcsFiles: ["/cg/procs"], request: request).launcherArguments,
                       ["exec", "--init", "42", "--cgroup", "/cg/procs", "--cwd", "/tmp",
                        "--env", "A=1", "--env", "HOME=/home", "--env", "PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin",
                        "--", "ls", "-l"])
    }

    func testLauncherReports() throws {
        XCTAssertEqual(try LauncherReport.parse(Array("ready 123\n".utf8)), [.ready(initPid: 123)])
        let reports = try LauncherReport.parse(Array("error execve 2\nexit 127\n".utf8))
        XCTAssertEqual(LauncherReport.firstError(in: reports), .setupFailed(step: "execve", errno: 2))
        XCTAssertEqual(try LauncherReport.parse(Array("signal 9\n".utf8)), [.signaled(signal: 9)])
        XCTAssertThrowsError(try LauncherReport.parse(Array("garbage\n".utf8)))
    }

    func testValidation() {
        XCTAssertNoThrow(try Validation.validate(spec))
        for bad in ["", "../x", "ABC", "a/b", "a b"] {
            var invalid = spec
            invalid.id = bad
            XCTAssertThrowsError(try Validation.validate(invalid), "id \(bad)")
        }
        var badHost = spec
        badHost.hostname = "a;b"
        XCTAssertThrowsError(try Validation.validate(badHost))
        XCTAssertThrowsError(try Validation.validate(ExecRequest(args: [])))
        XCTAssertThrowsError(try Validation.validate(ExecRequest(args: ["x"], cwd: "relative")))
        XCTAssertThrowsError(try Validation.validate(ExecRequest(args: ["x"], env: ["A=B": "c"])))
        var capped = spec
        capped.limits.cpuMaxCores = 0.5
        XCTAssertNoThrow(try Validation.validate(capped))
        capped.limits.cpuMaxCores = .infinity
        XCTAssertThrowsError(try Validation.validate(capped))
        XCTAssertFalse(Validation.isSafeForMountOptions("/a,b"))
    }

    func testCgroupDetectionParsing() {
        let mountInfo = """
            31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
            35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
            40 31 0:37 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct
            41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
            """
        let mounts = CgroupDetection.parseMountInfo(mountInfo)
        XCTAssertEqual(mounts.map(\.mountPoint), ["/sys/fs/cgroup/memory", "/sys/fs/cgroup/cpu,cpuacct", "/sys/fs/cgroup/unified"])
        XCTAssertEqual(mounts[1].controllers, ["rw", "cpu", "cpuacct"])
        XCTAssertTrue(mounts[2].isVersion2)
        let membership = CgroupDetection.parseProcCgroup("4:memory:/process_api/x\n2:cpu,cpuacct:/\n0::/\n")
        XCTAssertEqual(membership[0].path, "/process_api/x")
        XCTAssertEqual(membership[1].controllers, ["cpu", "cpuacct"])
        XCTAssertEqual(CgroupDetection.relative("/a/b", to: "/a"), "/b")
        XCTAssertEqual(CgroupDetection.relative("/", to: "/"), "")
    }

    func testStaticELFDetection() throws {
        XCTAssertTrue(try StaticELF.isStatic([UInt8](FileManager.default.contents(atPath: "/bin/busybox") ?? Data())))
        XCTAssertFalse(try StaticELF.isStatic([UInt8](FileManager.default.contents(atPath: "/bin/ls") ?? Data())))
    }
}

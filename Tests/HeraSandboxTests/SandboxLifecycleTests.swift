import Foundation
import Glibc
import XCTest
@testable import HeraSandbox

final class SandboxLifecycleTests: SandboxTestCase {
    func testMemoryHogIsReportedAsOOMKilled() throws {
        let sandbox = try startSandbox(TestEnvironment.spec(memoryMB: 32))
        let result = try runner.exec(sandbox, ExecRequest(args: ["dd", "if=/dev/zero", "of=/dev/null", "bs=200M", "count=1"]))
        XCTAssertEqual(result.signal, 9)
        XCTAssertTrue(result.oomKilled)
        XCTAssertTrue(runner.isAlive(sandbox), "the init must survive an OOM kill in its sandbox")
        XCTAssertFalse(try shell(sandbox, "true").oomKilled)
    }

    func testDaemonsDieWithTheirExec() throws {
        let sandbox = try startSandbox()
        let result = try shell(sandbox, "setsid sleep 1000 & sleep 1000 & echo started")
        XCTAssertEqual(result.stdoutText, "started\n")
        XCTAssertEqual(try runner.cgroups.processes(sandbox: sandbox.id).count, 2, "only init and monitor remain")
        XCTAssertEqual(try leaves(of: sandbox), ["init"], "the exec's cgroup is removed")
        XCTAssertTrue(runner.isAlive(sandbox))
    }

    func testDestroyKillsEverythingAndRemovesEverything() throws {
        let sandbox = try startSandbox()
        let runner = self.runner!
        let started = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            _ = try? runner.exec(sandbox, ExecRequest(args: ["sh", "-c", "setsid sleep 1000 & sleep 1000"]))
            started.signal()
        }
        let deadline = Clock.now() + 5
        while try runner.cgroups.processes(sandbox: sandbox.id).count < 5, Clock.now() < deadline { Clock.sleep(milliseconds: 5) }
        let pids = try runner.cgroups.processes(sandbox: sandbox.id)
        XCTAssertGreaterThanOrEqual(pids.count, 5, "init, monitor, exec launcher, shell and the daemon")
        XCTAssertTrue(runner.isAlive(sandbox))

        try runner.destroy(sandbox)
        try runner.destroy(sandbox)  // idempotent
        XCTAssertEqual(started.wait(timeout: .now() + 5), .success)
        XCTAssertFalse(runner.isAlive(sandbox))
        for pid in pids { XCTAssertFalse(processExists(pid), "process \(pid) survived destroy") }
        assertNothingRemains(of: sandbox.id)
    }

    func testLimitsAreWrittenToTheCgroups() throws {
        var spec = TestEnvironment.spec(memoryMB: 48)
        spec.limits.pidsMax = 77
        spec.limits.cpuShares = 300
        let sandbox = try startSandbox(spec)
        let directories = runner.cgroups.directories(sandbox: sandbox.id)
        func limit(_ file: String) throws -> String {
            let directory = try XCTUnwrap(directories.first { SystemFile.exists($0 + "/" + file) }, file)
            return try SystemFile.read(directory + "/" + file).trimmingCharacters(in: .whitespacesAndNewlines)
        }
        if runner.cgroupVersion == 1 {
            XCTAssertEqual(try limit("memory.limit_in_bytes"), String(48 << 20))
            XCTAssertEqual(try limit("memory.memsw.limit_in_bytes"), String(48 << 20))
            XCTAssertEqual(try limit("cpu.shares"), "300")
        } else {
            XCTAssertEqual(try limit("memory.max"), String(48 << 20))
            XCTAssertEqual(try limit("memory.swap.max"), "0")
        }
        XCTAssertEqual(try limit("pids.max"), "77")
        XCTAssertEqual(Set(try runner.cgroups.processes(sandbox: sandbox.id)).isSuperset(of: [sandbox.initPid]), true)
    }

    func testScratchSpaceIsCapped() throws {
        var spec = TestEnvironment.spec()
        spec.limits.scratchMB = 4
        let result = try shell(try startSandbox(spec), "head -c 8388608 /dev/zero > /tmp/big; echo $?; wc -c < /tmp/big")
        let lines = result.stdoutText.split(separator: "\n")
        XCTAssertEqual(lines.count, 2, result.stdoutText)
        XCTAssertNotEqual(lines.first, "0", "writing 8 MB into a 4 MB scratch must fail")
        XCTAssertLessThanOrEqual(Int(lines.last ?? "") ?? .max, 4 << 20)
    }

    func testConcurrentSandboxesFromManyThreads() throws {
        let runner = self.runner!
        let failures = LockedList()
        DispatchQueue.concurrentPerform(iterations: 8) { index in
            do {
                let sandbox = try runner.start(TestEnvironment.spec())
                let result = try runner.exec(sandbox, ExecRequest(args: ["echo", String(index)]))
                if result.stdoutText != "\(index)\n" { failures.append("sandbox \(index) printed \(result.stdoutText)") }
                try runner.destroy(sandbox)
            } catch {
                failures.append("sandbox \(index): \(error)")
            }
        }
        XCTAssertEqual(failures.items, [])
    }

    func testDestroyDuringExecEndsTheExecKeepingItsOutput() throws {
        let sandbox = try startSandbox()
        let runner = self.runner!
        let outcome = LockedList()
        let finished = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            do { _ = try runner.exec(sandbox, ExecRequest(args: ["sh", "-c", "echo before; sleep 100"])) }
            catch SandboxError.endedWithSandbox(let partial) {
                outcome.append(String(decoding: partial.stdout, as: UTF8.self) + "signal \(partial.signal ?? 0)")
            } catch { outcome.append("\(error)") }
            finished.signal()
        }
        Thread.sleep(forTimeInterval: 0.3)
        try runner.destroy(sandbox)
        XCTAssertEqual(finished.wait(timeout: .now() + 5), .success, "exec still blocked after destroy")
        XCTAssertEqual(outcome.items, ["before\nsignal 9"])
    }

    /// A monitor too slow to see its init die is killed with the rest of the cgroup — and reaped,
    /// or its zombie would stay in the cgroup and the teardown never finish.
    func testDestroyReapsAMonitorKilledWithTheCgroup() throws {
        let sandbox = try startSandbox()
        XCTAssertEqual(kill(sandbox.monitorPid, SIGSTOP), 0)
        try runner.destroy(sandbox)
        XCTAssertEqual(kill(sandbox.monitorPid, 0), -1, "the monitor is gone, zombie included")
        XCTAssertEqual(errno, ESRCH)
        XCTAssertFalse(SystemFile.exists(runner.scratchDirectory(sandbox.id)))
    }

    /// A template whose /tmp, /proc and /dev are symbolic links to host paths (a sandbox saved as
    /// a template can make them so): the start replaces them in the sandbox, never follows them.
    func testLinksWhereTheStartMakesDirectoriesAreNeverFollowed() throws {
        let hostile = TestEnvironment.directory + "/linked-template-\(UUID().uuidString)"
        let canaries = TestEnvironment.directory + "/canaries-\(UUID().uuidString)"
        defer { _ = try? FileManager.default.removeItem(atPath: hostile); _ = try? FileManager.default.removeItem(atPath: canaries) }
        XCTAssertEqual(system("cp -a \(TestEnvironment.templateDirectory) \(hostile) && mkdir -p \(canaries)/dir"
                              + " && touch \(canaries)/file && chmod 600 \(canaries)/file && chmod 700 \(canaries)/dir"
                              + " && rm -rf \(hostile)/tmp \(hostile)/proc \(hostile)/dev"
                              + " && ln -s \(canaries)/file \(hostile)/tmp && ln -s ../../../../../../../../..\(canaries)/dir \(hostile)/proc"
                              + " && ln -s \(canaries)/dir \(hostile)/dev"), 0)
        let sandbox = try startSandbox(TestEnvironment.spec(rootfs: hostile))
        XCTAssertEqual(try shell(sandbox, "stat -c %a /tmp; test -L /tmp || echo dir; ls /proc/self/status; ls /dev/null").stdoutText,
                       "1777\ndir\n/proc/self/status\n/dev/null\n")
        var info = stat()
        XCTAssertEqual(stat(canaries + "/file", &info), 0)
        XCTAssertEqual(info.st_mode & 0o7777, 0o600, "the host file's mode is untouched")
        XCTAssertEqual(stat(canaries + "/dir", &info), 0)
        XCTAssertEqual(info.st_mode & 0o7777, 0o700)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: canaries + "/dir"), [])
        var link = stat()
        XCTAssertEqual(lstat(hostile + "/tmp", &link), 0)
        XCTAssertEqual(link.st_mode & S_IFMT, S_IFLNK, "the template itself is never changed")
    }

    func testRemoveLeftoversCleansASandboxWhoseHandleWasDropped() throws {
        // A runner of its own, so removeLeftovers cannot hit sandboxes of tests running in parallel.
        runner = try SandboxRunner(launcherCommand: try TestEnvironment.launcherCommand(),
                                   scratchRoot: TestEnvironment.directory + "/leftovers-scratch",
                                   cgroupParent: TestEnvironment.cgroupParent + "-leftovers")
        var initPid: Int32 = 0
        var id = ""
        do {
            let dropped = try runner.start(TestEnvironment.spec())
            initPid = dropped.initPid
            id = dropped.id
            _ = try shell(dropped, "setsid sleep 1000 &")
        }
        XCTAssertGreaterThanOrEqual(try runner.removeLeftovers(), 1)
        XCTAssertFalse(processExists(initPid))
        assertNothingRemains(of: id)
    }

    func testNonexistentRootfsFailsAtANamedStepAndLeavesNothing() throws {
        let spec = TestEnvironment.spec(rootfs: "/nonexistent/rootfs")
        XCTAssertThrowsError(try runner.start(spec)) { error in
            XCTAssertEqual(error as? SandboxError, .setupFailed(step: "mount-template", errno: ENOENT))
        }
        assertNothingRemains(of: spec.id)
    }

    func testInvalidIdIsRejectedBeforeTouchingAnything() throws {
        var spec = TestEnvironment.spec()
        spec.id = "../etc"
        XCTAssertThrowsError(try runner.start(spec)) { error in
            guard case SandboxError.invalidSpec = error else { return XCTFail("unexpected \(error)") }
        }
    }

    func testExecAfterDestroyIsRefused() throws {
        let sandbox = try startSandbox()
        try runner.destroy(sandbox)
        XCTAssertThrowsError(try runner.exec(sandbox, ExecRequest(args: ["true"]))) { error in
            XCTAssertEqual(error as? SandboxError, .sandboxGone(id: sandbox.id))
        }
    }

    /// Prints the median of 20 starts, `true` execs and destroys (for the report; no assertion).
    func testTimings() throws {
        var starts: [Double] = [], execs: [Double] = [], destroys: [Double] = []
        for _ in 0..<20 {
            var began = Clock.now()
            let sandbox = try runner.start(TestEnvironment.spec())
            starts.append(Clock.now() - began)
            began = Clock.now()
            XCTAssertEqual(try runner.exec(sandbox, ExecRequest(args: ["true"])).exitCode, 0)
            execs.append(Clock.now() - began)
            began = Clock.now()
            try runner.destroy(sandbox)
            destroys.append(Clock.now() - began)
        }
        func median(_ values: [Double]) -> String { String(format: "%.1f ms", values.sorted()[values.count / 2] * 1000) }
        print("HeraSandbox timings (median of 20): start \(median(starts)), exec true \(median(execs)), destroy \(median(destroys))")
    }
}

/// A list shared between test threads.
final class LockedList: @unchecked Sendable {
    private let lock = NSLock()
    private var storage: [String] = []
    func append(_ item: String) { lock.withLock { storage.append(item) } }
    var items: [String] { lock.withLock { storage } }
}

import Foundation
import Glibc
import XCTest
@testable import HeraSandbox

/// Per-exec figures from the exec's own cgroup.
final class ExecUsageTests: SandboxTestCase {
    func testBusyLoopCpuTimeIsAboutItsWallTime() throws {
        let result = try runner.exec(try startSandbox(), ExecRequest(args: ["sh", "-c", "while :; do :; done"], timeoutSeconds: 1))
        XCTAssertTrue(result.timedOut)
        let user = try XCTUnwrap(result.cpuUserSeconds), system = try XCTUnwrap(result.cpuSystemSeconds)
        XCTAssertGreaterThan(user, system, "a shell loop runs in user mode")
        XCTAssertGreaterThanOrEqual(user + system, 0.5 * result.wallSeconds * 0.9, "busy for ~1 s (allowing a busy machine)")
        XCTAssertLessThanOrEqual(user + system, result.wallSeconds + 0.05, "one thread cannot use more than its wall time")
    }

    func testPeakMemoryOfA50MBBuffer() throws {
        let sandbox = try startSandbox(TestEnvironment.spec(memoryMB: 128))
        let result = try runner.exec(sandbox, ExecRequest(args: ["dd", "if=/dev/zero", "of=/dev/null", "bs=50M", "count=1"]))
        XCTAssertEqual(result.exitCode, 0, result.stderrText)
        let peak = try XCTUnwrap(result.peakMemoryBytes)
        XCTAssertGreaterThanOrEqual(peak, 50 << 20)
        XCTAssertLessThan(peak, 100 << 20)
        XCTAssertFalse(result.oomKilled)
    }

    func testPeakPidsCountsTheCommandsProcesses() throws {
        // Needs pids.peak (v1 and v2 since Linux 6.1), which the test machines have.
        let result = try shell(try startSandbox(), "sleep 0.3 & sleep 0.3 & wait")
        XCTAssertEqual(result.peakPids, 3, "the shell and two sleeps")
    }

    func testOnlyTheOOMKilledOfTwoConcurrentExecsReportsIt() throws {
        let sandbox = try startSandbox(TestEnvironment.spec(memoryMB: 48))
        let runner = self.runner!
        let requests = [ExecRequest(args: ["sh", "-c", "sleep 1.5; echo calm"]),
                        ExecRequest(args: ["sh", "-c", "sleep 0.3; dd if=/dev/zero of=/dev/null bs=200M count=1"])]
        let results = ResultList(count: requests.count)
        DispatchQueue.concurrentPerform(iterations: requests.count) { index in
            results.set(index, Result { try runner.exec(sandbox, requests[index]) })
        }
        let calm = try results.get(0), hog = try results.get(1)
        XCTAssertEqual(calm.stdoutText, "calm\n")
        XCTAssertFalse(calm.oomKilled, "the exec that was not killed must not report an OOM kill")
        XCTAssertEqual(hog.signal, 9)
        XCTAssertTrue(hog.oomKilled)
        XCTAssertEqual(try runner.stats(sandbox).oomKills, 1, "the kill is counted once, after its cgroup is gone")
    }

    func testEveryExecCgroupIsRemovedAfterItsExec() throws {
        let sandbox = try startSandbox()
        for command in [["true"], ["false"], ["/no/such/program"], ["sh", "-c", "sleep 100 &"]] {
            _ = try? runner.exec(sandbox, ExecRequest(args: command))
            XCTAssertEqual(try leaves(of: sandbox), ["init"], "after \(command)")
        }
    }

    func testForkFailureUnderThePidsLimitReportsStepFork() throws {
        var spec = TestEnvironment.spec()
        spec.limits.pidsMax = 3  // init, monitor and the exec launcher: no room for the command
        let sandbox = try startSandbox(spec)
        XCTAssertThrowsError(try runner.exec(sandbox, ExecRequest(args: ["true"]))) { error in
            XCTAssertEqual(error as? SandboxError, .setupFailed(step: "fork", errno: EAGAIN))
        }
        XCTAssertEqual(try leaves(of: sandbox), ["init"])
    }
}

/// Results written by concurrent test threads.
final class ResultList: @unchecked Sendable {
    private let lock = NSLock()
    private var storage: [Result<ExecResult, Error>?]
    init(count: Int) { storage = Array(repeating: nil, count: count) }
    func set(_ index: Int, _ result: Result<ExecResult, Error>) { lock.withLock { storage[index] = result } }
    func get(_ index: Int) throws -> ExecResult {
        guard let result = lock.withLock({ storage[index] }) else { throw SandboxError.launcher("no result \(index)") }
        return try result.get()
    }
}

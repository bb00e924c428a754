import XCTest
@testable import HeraSandbox

/// Per-sandbox usage and the CPU cap.
final class SandboxStatsTests: SandboxTestCase {
    func testStatsAccumulateAndDestroyKeepsTheFinalOnes() throws {
        let sandbox = try startSandbox(TestEnvironment.spec(memoryMB: 32))
        let idle = try runner.stats(sandbox)
        XCTAssertEqual(idle.oomKills, 0)
        XCTAssertNotNil(idle.peakMemoryBytes)

        _ = try runner.exec(sandbox, ExecRequest(args: ["sh", "-c", "while :; do :; done"], timeoutSeconds: 0.5))
        XCTAssertTrue(try runner.exec(sandbox, ExecRequest(args: ["dd", "if=/dev/zero", "of=/dev/null", "bs=200M", "count=1"])).oomKilled)
        let busy = try runner.stats(sandbox)
        XCTAssertGreaterThan(try XCTUnwrap(busy.cpuUserSeconds), 0.05, "the finished execs' CPU time stays counted (a loaded machine gives the 0.5 s loop less than 0.5 s)")
        XCTAssertEqual(busy.oomKills, 1)
        XCTAssertGreaterThanOrEqual(try XCTUnwrap(busy.peakMemoryBytes), 16 << 20)
        XCTAssertGreaterThanOrEqual(busy.wallSeconds, 0.5)

        XCTAssertNil(sandbox.finalStats)
        try runner.destroy(sandbox)
        let final = try XCTUnwrap(sandbox.finalStats)
        XCTAssertEqual(final.oomKills, 1)
        XCTAssertGreaterThanOrEqual(try XCTUnwrap(final.cpuUserSeconds), try XCTUnwrap(busy.cpuUserSeconds))
        XCTAssertEqual(try runner.stats(sandbox), final, "after destroy, stats are the final ones")
        try runner.destroy(sandbox)
        XCTAssertEqual(sandbox.finalStats, final, "a second destroy changes nothing")
    }

    /// A busy loop capped at 0.2 CPUs gets about 0.2 s of CPU per second: a 1 s loop would take ~5 s.
    func testCpuCapLimitsABusyLoop() throws {
        var spec = TestEnvironment.spec()
        spec.limits.cpuMaxCores = 0.2
        let sandbox = try startSandbox(spec)
        let result = try runner.exec(sandbox, ExecRequest(args: ["sh", "-c", "while :; do :; done"], timeoutSeconds: 2))
        let cpu = try XCTUnwrap(result.cpuUserSeconds) + XCTUnwrap(result.cpuSystemSeconds)
        XCTAssertGreaterThanOrEqual(cpu, 0.2, "the loop ran")
        XCTAssertLessThanOrEqual(cpu / result.wallSeconds, 0.3, "cpu \(cpu) s in \(result.wallSeconds) s exceeds the 0.2 cap")
    }

    func testInvalidCpuCapIsRefused() throws {
        var spec = TestEnvironment.spec()
        spec.limits.cpuMaxCores = 0
        XCTAssertThrowsError(try runner.start(spec)) { error in
            guard case SandboxError.invalidSpec = error else { return XCTFail("unexpected \(error)") }
        }
    }
}

import XCTest
@testable import HeraSandbox

final class ExecTimeoutTests: SandboxTestCase {
    func testTimeoutKillsTheWholeProcessTreeAndKeepsTheOutput() throws {
        let sandbox = try startSandbox()
        let script = "echo before; setsid sleep 100 & sleep 100 & sleep 100"
        let began = Clock.now()
        let result = try runner.exec(sandbox, ExecRequest(args: ["sh", "-c", script], timeoutSeconds: 1))
        let elapsed = Clock.now() - began
        XCTAssertTrue(result.timedOut)
        XCTAssertEqual(result.signal, 9)
        XCTAssertNil(result.exitCode)
        XCTAssertFalse(result.oomKilled)
        XCTAssertEqual(result.stdoutText, "before\n", "output written before the timeout is kept")
        XCTAssertGreaterThanOrEqual(elapsed, 1)
        XCTAssertLessThan(elapsed, 2, "everything, setsid'd child included, dies within timeout + 1 s")
        XCTAssertEqual(try runner.cgroups.processes(sandbox: sandbox.id).count, 2, "only init and monitor remain")
        XCTAssertEqual(try leaves(of: sandbox), ["init"])
        XCTAssertEqual(try shell(sandbox, "echo alive").stdoutText, "alive\n", "the sandbox outlives the timed-out exec")
    }

    func testCommandFinishingInTimeIsNotTimedOut() throws {
        let result = try runner.exec(try startSandbox(), ExecRequest(args: ["sh", "-c", "exit 4"], timeoutSeconds: 5))
        XCTAssertFalse(result.timedOut)
        XCTAssertEqual(result.exitCode, 4)
    }

    func testInvalidTimeoutIsRefused() throws {
        let sandbox = try startSandbox()
        for timeout in [0, -1, Double.nan] {
            XCTAssertThrowsError(try runner.exec(sandbox, ExecRequest(args: ["true"], timeoutSeconds: timeout))) { error in
                guard case SandboxError.invalidSpec = error else { return XCTFail("unexpected \(error)") }
            }
        }
    }
}

import Glibc
import XCTest
@testable import HeraSandbox

final class SandboxExecTests: SandboxTestCase {
    func testEchoPrintsToStdoutWithExitCodeZero() throws {
        let sandbox = try startSandbox()
        let result = try runner.exec(sandbox, ExecRequest(args: ["echo", "hi"]))
        XCTAssertEqual(result.stdoutText, "hi\n")
        XCTAssertEqual(result.stderr, [])
        XCTAssertEqual(result.exitCode, 0)
        XCTAssertNil(result.signal)
        XCTAssertFalse(result.oomKilled)
    }

    func testExitCodePropagates() throws {
        let result = try shell(try startSandbox(), "echo oops >&2; exit 3")
        XCTAssertEqual(result.exitCode, 3)
        XCTAssertEqual(result.stderrText, "oops\n")
    }

    func testSignalIsReportedAndIsNotAnOOMKill() throws {
        let result = try shell(try startSandbox(), "kill -9 $$")
        XCTAssertNil(result.exitCode)
        XCTAssertEqual(result.signal, 9)
        XCTAssertFalse(result.oomKilled)
    }

    func testStdinReachesTheCommand() throws {
        let input = Array("line one\nline two\n".utf8)
        let result = try runner.exec(try startSandbox(), ExecRequest(args: ["wc", "-l"], stdin: input))
        XCTAssertEqual(result.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines), "2")
        XCTAssertEqual(result.exitCode, 0)
    }

    func testLargeStdinIsFedWhileOutputIsRead() throws {
        let input = [UInt8](repeating: UInt8(ascii: "x"), count: 3 << 20)
        let result = try runner.exec(try startSandbox(), ExecRequest(args: ["cat"], stdin: input, outputLimit: 4 << 20))
        XCTAssertEqual(result.stdout.count, input.count)
        XCTAssertFalse(result.stdoutTruncated)
    }

    func testLargeOutputOnBothStreamsDoesNotDeadlockAndIsTruncated() throws {
        let limit = 1 << 20
        let script = "head -c 2097152 /dev/zero & head -c 2097152 /dev/zero >&2; wait; echo done >&2"
        let result = try shell(try startSandbox(), script, outputLimit: limit)
        XCTAssertEqual(result.exitCode, 0)
        XCTAssertEqual(result.stdout.count, limit)
        XCTAssertEqual(result.stderr.count, limit)
        XCTAssertTrue(result.stdoutTruncated)
        XCTAssertTrue(result.stderrTruncated)
    }

    func testHostnameComesFromTheSpec() throws {
        let sandbox = try startSandbox(TestEnvironment.spec(hostname: "my-box.test"))
        XCTAssertEqual(try runner.exec(sandbox, ExecRequest(args: ["hostname"])).stdoutText, "my-box.test\n")
    }

    func testOnlyLoopbackExistsAndIsUp() throws {
        let sandbox = try startSandbox()
        let links = try shell(sandbox, "ip -o link | cut -d: -f2 | tr -d ' '")
        XCTAssertEqual(links.stdoutText, "lo\n")
        XCTAssertTrue(try shell(sandbox, "ip -o link show lo").stdoutText.contains("UP"))
        let devices = try shell(sandbox, "tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '")
        XCTAssertEqual(devices.stdoutText, "lo\n")
        // "refused" (not "unreachable") means the loopback interface is up and routes.
        XCTAssertTrue(try shell(sandbox, "nc 127.0.0.1 1 </dev/null").stderrText.contains("refused"))
    }

    func testPID1IsTheInitAndTheCommandRunsAsNobody() throws {
        let sandbox = try startSandbox()
        let result = try shell(sandbox, "cat /proc/1/comm; id -u; id -g; id -G; grep CapEff /proc/self/status")
        XCTAssertEqual(result.stdoutText, "hera-init\n65534\n65534\n65534\nCapEff:\t0000000000000000\n")
        XCTAssertTrue(processExists(sandbox.initPid))
    }

    func testNoFileDescriptorOfTheWorkerLeaksIn() throws {
        let inheritable = open("/dev/null", O_RDONLY)  // deliberately without O_CLOEXEC
        defer { close(inheritable) }
        let sandbox = try startSandbox()
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: "/proc/\(sandbox.initPid)/fd").sorted(), ["0", "1", "2"])
        // ls opens the directory it lists as fd 3.
        XCTAssertEqual(try runner.exec(sandbox, ExecRequest(args: ["ls", "/proc/self/fd"])).stdoutText, "0\n1\n2\n3\n")
    }

    /// Found by an attacker: `unshare -U -r -m` gave a command root in a new user namespace, and
    /// with it mounts — every capability the kernel grants there.
    func testCommandsCannotMakeUserNamespaces() throws {
        let sandbox = try startSandbox()
        let result = try shell(sandbox, "unshare -U -r true 2>&1; echo $?; unshare -U true 2>&1; echo $?;"
                                        + " (sleep 0.1 & wait; echo forks); echo $$ > /dev/null")
        XCTAssertTrue(result.stdoutText.contains("Operation not permitted"), result.stdoutText)
        XCTAssertFalse(result.stdoutText.contains("\n0\n"), result.stdoutText)
        XCTAssertTrue(result.stdoutText.hasSuffix("forks\n"), result.stdoutText)
    }

    func testWritesGoToTheSandboxNeverToTheTemplate() throws {
        let sandbox = try startSandbox()
        let result = try shell(sandbox, "touch /bin/new && echo wrote-bin; echo data > /tmp/file && cat /tmp/file; stat -c %a /tmp;"
                                        + " stat -c %u:%a /")
        XCTAssertEqual(result.stdoutText, "wrote-bin\ndata\n1777\n65534:755\n", "the sandbox user owns its copy, / included")
        XCTAssertFalse(SystemFile.exists(TestEnvironment.templateDirectory + "/tmp/file"))
        XCTAssertFalse(SystemFile.exists(TestEnvironment.templateDirectory + "/bin/new"))
    }

    func testEnvironmentAndWorkingDirectory() throws {
        let request = ExecRequest(args: ["sh", "-c", "pwd; echo $GREETING; echo $HOME; echo $PATH"], env: ["GREETING": "hello"], cwd: "/tmp")
        let result = try runner.exec(try startSandbox(), request)
        XCTAssertEqual(result.stdoutText, "/tmp\nhello\n/tmp\n/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin\n")
    }

    func testMissingCommandFailsAtExecve() throws {
        let sandbox = try startSandbox()
        XCTAssertThrowsError(try runner.exec(sandbox, ExecRequest(args: ["/no/such/program"]))) { error in
            XCTAssertEqual(error as? SandboxError, .setupFailed(step: "execve", errno: ENOENT))
        }
        XCTAssertThrowsError(try runner.exec(sandbox, ExecRequest(args: ["true"], cwd: "/missing"))) { error in
            XCTAssertEqual(error as? SandboxError, .setupFailed(step: "chdir", errno: ENOENT))
        }
    }
}

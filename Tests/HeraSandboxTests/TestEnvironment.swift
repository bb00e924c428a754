import Foundation
import Glibc
import XCTest
@testable import HeraSandbox

/// What the integration tests need: root, cgroups, and the `hera` executable in HERA_BIN
/// (set by the lead's test script after `swift build`). Anything missing fails the test loudly.
enum TestEnvironment {
    static let directory = (ProcessInfo.processInfo.environment["HERA_TEST_DIR"] ?? "/tmp/hera-sandbox-tests-\(getpid())") + "/sandbox"
    static let templateDirectory = directory + "/template"
    static let scratchRoot = directory + "/scratch"
    /// Below the test process's own cgroups, apart from any real worker's "hera" parent and from
    /// other test runs on the same machine.
    static let cgroupParent = "hera-sandbox-tests-\(getpid())"

    struct Unavailable: Error, CustomStringConvertible { let description: String }

    static func launcherCommand() throws -> [String] {
        guard geteuid() == 0 else { throw Unavailable(description: "HeraSandbox tests must run as root (namespaces, mounts, cgroups)") }
        guard let path = ProcessInfo.processInfo.environment["HERA_BIN"], !path.isEmpty else {
            throw Unavailable(description: "HERA_BIN is not set: point it at the built `hera` executable (e.g. HERA_BIN=$(swift build --show-bin-path)/hera)")
        }
        guard access(path, X_OK) == 0 else { throw Unavailable(description: "HERA_BIN=\(path) is not an executable file") }
        return [path, "__launch"]
    }

    /// A runner on the shared test template; the test fails with a clear message if that is impossible.
    static func makeRunner(file: StaticString = #filePath, line: UInt = #line) throws -> SandboxRunner {
        do {
            let command = try launcherCommand()
            try DefaultTemplate.build(at: templateDirectory)
            return try SandboxRunner(launcherCommand: command, scratchRoot: scratchRoot, cgroupParent: cgroupParent)
        } catch {
            XCTFail("HeraSandbox test environment unavailable: \(error)", file: file, line: line)
            throw error
        }
    }

    static func spec(memoryMB: Int = 64, rootfs: String = templateDirectory, hostname: String = "box") -> SandboxSpec {
        SandboxSpec(id: UUID().uuidString.lowercased(), rootfs: rootfs, hostname: hostname, limits: SandboxLimits(memoryMB: memoryMB))
    }
}

/// Base class: a fresh runner per test and cleanup of whatever sandboxes a test started.
class SandboxTestCase: XCTestCase {
    var runner: SandboxRunner!
    private var started: [SandboxHandle] = []

    override func setUpWithError() throws {
        runner = try TestEnvironment.makeRunner()
    }

    override func tearDownWithError() throws {
        for sandbox in started { try runner.destroy(sandbox) }
        started = []
    }

    func startSandbox(_ spec: SandboxSpec = TestEnvironment.spec()) throws -> SandboxHandle {
        let sandbox = try runner.start(spec)
        started.append(sandbox)
        return sandbox
    }

    /// Runs `sh -c script` in the sandbox.
    func shell(_ sandbox: SandboxHandle, _ script: String, stdin: [UInt8] = [], outputLimit: Int = 1 << 20) throws -> ExecResult {
        try runner.exec(sandbox, ExecRequest(args: ["/bin/sh", "-c", script], stdin: stdin, outputLimit: outputLimit))
    }

    /// The names of the sandbox's leaf cgroups, the same in every hierarchy.
    func leaves(of sandbox: SandboxHandle) throws -> [String] {
        let names = try runner.cgroups.directories(sandbox: sandbox.id).map { try SystemFile.subdirectories($0).sorted() }
        XCTAssertEqual(Set(names).count, 1, "hierarchies differ: \(names)")
        return names.first ?? []
    }

    func assertNothingRemains(of id: String, file: StaticString = #filePath, line: UInt = #line) {
        for directory in runner.cgroups.directories(sandbox: id) {
            XCTAssertFalse(SystemFile.exists(directory), "cgroup \(directory) remains", file: file, line: line)
        }
        XCTAssertFalse(SystemFile.exists(runner.scratchDirectory(id)), "scratch directory remains", file: file, line: line)
        let mounts = (try? SystemFile.read("/proc/self/mountinfo")) ?? ""
        XCTAssertFalse(mounts.contains(id), "a mount of the sandbox remains", file: file, line: line)
        XCTAssertFalse(hasZombieChildren(), "a zombie child remains", file: file, line: line)
    }

    func hasZombieChildren() -> Bool {
        var info = siginfo_t()
        return waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info._sifields._sigchld.si_pid != 0
    }

    func processExists(_ pid: Int32) -> Bool {
        kill(pid, 0) == 0 || errno != ESRCH
    }
}

extension ExecResult {
    var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
    var stderrText: String { String(decoding: stderr, as: UTF8.self) }
}

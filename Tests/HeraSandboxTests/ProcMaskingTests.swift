import XCTest
@testable import HeraSandbox

/// The sandbox's /proc: sensitive paths masked, no host path in the init's command line.
final class ProcMaskingTests: SandboxTestCase {
    func testSensitiveFilesCannotBeOpened() throws {
        let sandbox = try startSandbox()
        let script = """
            for f in kcore keys timer_list sched_debug sysrq-trigger; do
              [ -e /proc/$f ] || continue
              cat /proc/$f >/dev/null 2>&1 && echo "$f readable"
              (echo x >/proc/$f) 2>/dev/null && echo "$f writable"
            done
            echo checked
            """
        XCTAssertEqual(try shell(sandbox, script).stdoutText, "checked\n")
        XCTAssertEqual(try shell(sandbox, "ls -A /proc/acpi 2>/dev/null | wc -l").stdoutText.trimmingCharacters(in: .whitespacesAndNewlines), "0")
    }

    func testMasksAreMountsWhateverTheUser() throws {
        let mounts = try shell(try startSandbox(), "cut -d' ' -f5,6 /proc/self/mountinfo").stdoutText
        let options = Dictionary(mounts.split(separator: "\n").map { line -> (String, String) in
            let fields = line.split(separator: " ").map(String.init)
            return (fields[0], fields.count > 1 ? fields[1] : "")
        }, uniquingKeysWith: { _, last in last })
        // Kernels without CONFIG_PROC_KCORE or CONFIG_MAGIC_SYSRQ have no such file to mask.
        let present = SandboxPlan.maskedProcFiles.map { "/proc/" + $0 }.filter(SystemFile.exists)
        XCTAssertTrue(present.contains("/proc/keys"), "/proc/keys (world-readable) must exist to be tested")
        for file in present {
            XCTAssertTrue(options[file]?.contains("nodev") == true, "\(file) is not masked: \(options[file] ?? "no mount")")
        }
        for directory in SandboxPlan.readOnlyProcDirectories.map({ "/proc/" + $0 }).filter(SystemFile.exists) {
            XCTAssertTrue(options[directory]?.hasPrefix("ro") == true, "\(directory) is not read-only: \(options[directory] ?? "no mount")")
        }
        for directory in SandboxPlan.maskedProcDirectories.map({ "/proc/" + $0 }).filter(SystemFile.exists) {
            XCTAssertTrue(options[directory]?.hasPrefix("ro") == true, "\(directory) is not masked: \(options[directory] ?? "no mount")")
        }
    }

    func testProcSysIsReadableButNotWritable() throws {
        let result = try shell(try startSandbox(hostnameSpec()), "cat /proc/sys/kernel/hostname; touch /proc/sys/kernel/hostname 2>&1")
        XCTAssertTrue(result.stdoutText.hasPrefix("masked-box\n"), result.stdoutText)
        XCTAssertTrue(result.stdoutText.contains("Read-only file system"), result.stdoutText)
    }

    func testInitCommandLineShowsNoHostPath() throws {
        let sandbox = try startSandbox()
        let inside = try shell(sandbox, "tr '\\\\0' ' ' < /proc/1/cmdline").stdoutText
        XCTAssertTrue(inside.hasPrefix("hera-init"), inside)
        XCTAssertFalse(inside.contains("/"), "host path in /proc/1/cmdline: \(inside)")
        let fromHost = try SystemFile.read("/proc/\(sandbox.initPid)/cmdline")
        XCTAssertFalse(fromHost.contains("/"), fromHost)
    }

    private func hostnameSpec() -> SandboxSpec { TestEnvironment.spec(hostname: "masked-box") }
}

/// Checks of caller input before any of it reaches a path, a cgroup file or the launcher's argv.
enum Validation {
    /// Sandbox ids name cgroups and scratch directories: lowercase hex digits and dashes only.
    static func isValidSandboxID(_ id: String) -> Bool {
        !id.isEmpty && id.utf8.count <= 64 && id.utf8.allSatisfy { isDigit($0) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains($0) || $0 == UInt8(ascii: "-") }
    }

    static func validate(_ spec: SandboxSpec) throws {
        guard isValidSandboxID(spec.id) else { throw SandboxError.invalidSpec("sandbox id must be [0-9a-f-]{1,64}: \(spec.id)") }
        guard spec.rootfs.hasPrefix("/"), !spec.rootfs.utf8.contains(0) else {
            throw SandboxError.invalidSpec("rootfs must be an absolute path: \(spec.rootfs)")
        }
        let hostnameBytes = spec.hostname.utf8
        guard (1...63).contains(hostnameBytes.count),
              hostnameBytes.allSatisfy({ isAlphanumeric($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: ".") }) else {
            throw SandboxError.invalidSpec("hostname must be 1-63 of [A-Za-z0-9.-]: \(spec.hostname)")
        }
        let limits = spec.limits
        guard limits.memoryMB >= 4 else { throw SandboxError.invalidSpec("memoryMB must be at least 4") }
        guard limits.pidsMax >= 3 else { throw SandboxError.invalidSpec("pidsMax must be at least 3 (init, monitor, command)") }
        guard (2...262_144).contains(limits.cpuShares) else { throw SandboxError.invalidSpec("cpuShares must be 2...262144") }
        guard limits.scratchMB >= 1 else { throw SandboxError.invalidSpec("scratchMB must be at least 1") }
        if let cores = limits.cpuMaxCores, !(cores >= 0.01 && cores <= 4096) {
            throw SandboxError.invalidSpec("cpuMaxCores must be 0.01...4096")
        }
    }

    static func validate(_ request: ExecRequest) throws {
        guard !request.args.isEmpty, !request.args[0].isEmpty else { throw SandboxError.invalidSpec("exec needs a command") }
        guard request.cwd.hasPrefix("/") else { throw SandboxError.invalidSpec("cwd must be absolute: \(request.cwd)") }
        guard request.outputLimit >= 0 else { throw SandboxError.invalidSpec("outputLimit must not be negative") }
        if let timeout = request.timeoutSeconds, !(timeout > 0 && timeout <= 1e9) {
            throw SandboxError.invalidSpec("timeoutSeconds must be positive")
        }
        for (key, _) in request.env where key.isEmpty || key.contains("=") {
            throw SandboxError.invalidSpec("invalid environment variable name: \(key)")
        }
        let strings = request.args + [request.cwd] + request.env.flatMap { [$0.key, $0.value] }
        guard strings.allSatisfy({ !$0.utf8.contains(0) }) else { throw SandboxError.invalidSpec("NUL byte in exec request") }
    }

    /// Paths spliced into overlayfs options must not contain the option separators.
    static func isSafeForMountOptions(_ path: String) -> Bool {
        path.hasPrefix("/") && !path.utf8.contains { [0, UInt8(ascii: ","), UInt8(ascii: ":"), UInt8(ascii: "\\"), UInt8(ascii: " ")].contains($0) }
    }

    private static func isAlphanumeric(_ byte: UInt8) -> Bool {
        isDigit(byte) || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
    }

    private static func isDigit(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
    }
}

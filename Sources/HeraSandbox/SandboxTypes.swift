/// Resource limits of one sandbox, applied through its cgroup.
public struct SandboxLimits: Sendable, Equatable {
    /// Memory limit (RAM; swap is disabled for the sandbox).
    public var memoryMB: Int
    /// Maximum number of tasks, including Hera's helper processes (init, monitor, one per running exec).
    public var pidsMax: Int
    /// Relative CPU weight (cgroup v1 cpu.shares; converted to cpu.weight on v2).
    public var cpuShares: Int
    /// Size of the tmpfs holding the writable layer of the root filesystem.
    public var scratchMB: Int

    public init(memoryMB: Int, pidsMax: Int = 256, cpuShares: Int = 1024, scratchMB: Int = 64) {
        self.memoryMB = memoryMB
        self.pidsMax = pidsMax
        self.cpuShares = cpuShares
        self.scratchMB = scratchMB
    }
}

/// What to start: a root filesystem template and the sandbox's identity and limits.
public struct SandboxSpec: Sendable, Equatable {
    /// A UUID string; only [0-9a-f-] is accepted since it names directories.
    public var id: String
    /// Absolute path of the template directory (mounted read-only as the lower layer).
    public var rootfs: String
    public var hostname: String
    public var limits: SandboxLimits

    public init(id: String, rootfs: String, hostname: String, limits: SandboxLimits) {
        self.id = id
        self.rootfs = rootfs
        self.hostname = hostname
        self.limits = limits
    }
}

/// A command to run inside a running sandbox as uid/gid 65534.
public struct ExecRequest: Sendable, Equatable {
    /// argv; a name without "/" is searched in the PATH of `env`.
    public var args: [String]
    /// Added to (and overriding) PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin and HOME=/tmp.
    public var env: [String: String]
    public var cwd: String
    public var stdin: [UInt8]
    /// Bytes kept per stream; the rest is read and discarded.
    public var outputLimit: Int
    /// Standard error goes into the same stream as standard output (`stderr` stays empty).
    public var mergeStderr: Bool

    public init(args: [String], env: [String: String] = [:], cwd: String = "/", stdin: [UInt8] = [],
                outputLimit: Int = 1 << 20, mergeStderr: Bool = false) {
        self.args = args
        self.env = env
        self.cwd = cwd
        self.stdin = stdin
        self.outputLimit = outputLimit
        self.mergeStderr = mergeStderr
    }
}

/// The outcome of an exec: exactly one of `exitCode` and `signal` is set.
public struct ExecResult: Sendable, Equatable {
    public var stdout: [UInt8]
    public var stderr: [UInt8]
    public var stdoutTruncated: Bool
    public var stderrTruncated: Bool
    public var exitCode: Int32?
    public var signal: Int32?
    /// The sandbox's memory cgroup counted an OOM kill during the exec.
    public var oomKilled: Bool
    public var wallSeconds: Double

    public init(stdout: [UInt8], stderr: [UInt8], stdoutTruncated: Bool, stderrTruncated: Bool,
                exitCode: Int32?, signal: Int32?, oomKilled: Bool, wallSeconds: Double) {
        self.stdout = stdout
        self.stderr = stderr
        self.stdoutTruncated = stdoutTruncated
        self.stderrTruncated = stderrTruncated
        self.exitCode = exitCode
        self.signal = signal
        self.oomKilled = oomKilled
        self.wallSeconds = wallSeconds
    }
}

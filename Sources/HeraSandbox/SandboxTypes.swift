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
    /// Optional hard cap in CPUs' worth of time (0.5 = half a CPU, 2 = two CPUs); nil = no cap.
    /// v1 cpu.cfs_quota_us over a 100 ms cpu.cfs_period_us; v2 cpu.max.
    public var cpuMaxCores: Double?

    public init(memoryMB: Int, pidsMax: Int = 256, cpuShares: Int = 1024, scratchMB: Int = 64, cpuMaxCores: Double? = nil) {
        self.memoryMB = memoryMB
        self.pidsMax = pidsMax
        self.cpuShares = cpuShares
        self.scratchMB = scratchMB
        self.cpuMaxCores = cpuMaxCores
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
    /// At this many seconds the exec's whole process tree (everything in its cgroup, setsid'd
    /// children included) is killed and the result says `timedOut`; nil = no timeout.
    public var timeoutSeconds: Double?

    public init(args: [String], env: [String: String] = [:], cwd: String = "/", stdin: [UInt8] = [],
                outputLimit: Int = 1 << 20, mergeStderr: Bool = false, timeoutSeconds: Double? = nil) {
        self.args = args
        self.env = env
        self.cwd = cwd
        self.stdin = stdin
        self.outputLimit = outputLimit
        self.mergeStderr = mergeStderr
        self.timeoutSeconds = timeoutSeconds
    }
}

/// One of a command's output streams.
public enum ExecStream: Sendable {
    case stdout, stderr
}

/// Sees a command's output as it arrives (what is kept of it, within `outputLimit`), on the
/// thread running the exec; it should return quickly.
public typealias ExecOutputObserver = (ExecStream, ArraySlice<UInt8>) -> Void

/// The outcome of an exec: exactly one of `exitCode` and `signal` is set.
/// The usage figures are the exec's own cgroup's; nil where the kernel cannot say.
public struct ExecResult: Sendable, Equatable {
    public var stdout: [UInt8]
    public var stderr: [UInt8]
    public var stdoutTruncated: Bool
    public var stderrTruncated: Bool
    public var exitCode: Int32?
    public var signal: Int32?
    /// The OOM killer killed a process of this exec (counted in the exec's own memory cgroup).
    public var oomKilled: Bool
    public var wallSeconds: Double
    /// The exec's `timeoutSeconds` passed and its processes were killed (`signal` is then 9).
    public var timedOut: Bool
    public var cpuUserSeconds: Double?
    public var cpuSystemSeconds: Double?
    /// Peak memory charged to the exec's cgroup (includes Hera's exec helper, well under 1 MB).
    public var peakMemoryBytes: Int?
    /// Peak number of the command's tasks (threads included), Hera's exec helper not counted.
    public var peakPids: Int?

    public init(stdout: [UInt8], stderr: [UInt8], stdoutTruncated: Bool, stderrTruncated: Bool,
                exitCode: Int32?, signal: Int32?, oomKilled: Bool, wallSeconds: Double, timedOut: Bool = false,
                cpuUserSeconds: Double? = nil, cpuSystemSeconds: Double? = nil, peakMemoryBytes: Int? = nil, peakPids: Int? = nil) {
        self.stdout = stdout
        self.stderr = stderr
        self.stdoutTruncated = stdoutTruncated
        self.stderrTruncated = stderrTruncated
        self.exitCode = exitCode
        self.signal = signal
        self.oomKilled = oomKilled
        self.wallSeconds = wallSeconds
        self.timedOut = timedOut
        self.cpuUserSeconds = cpuUserSeconds
        self.cpuSystemSeconds = cpuSystemSeconds
        self.peakMemoryBytes = peakMemoryBytes
        self.peakPids = peakPids
    }
}

/// What one sandbox used over its life so far, Hera's helpers (init, monitor, exec helpers)
/// included; nil where the kernel cannot say.
public struct SandboxStats: Sendable, Equatable {
    public var cpuUserSeconds: Double?
    public var cpuSystemSeconds: Double?
    public var peakMemoryBytes: Int?
    public var peakPids: Int?
    /// OOM kills in the sandbox, in finished execs included.
    public var oomKills: Int?
    /// Seconds since the sandbox's init was ready.
    public var wallSeconds: Double

    public init(cpuUserSeconds: Double?, cpuSystemSeconds: Double?, peakMemoryBytes: Int?, peakPids: Int?,
                oomKills: Int?, wallSeconds: Double) {
        self.cpuUserSeconds = cpuUserSeconds
        self.cpuSystemSeconds = cpuSystemSeconds
        self.peakMemoryBytes = peakMemoryBytes
        self.peakPids = peakPids
        self.oomKills = oomKills
        self.wallSeconds = wallSeconds
    }
}

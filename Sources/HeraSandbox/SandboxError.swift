import Glibc

public enum SandboxError: Error, CustomStringConvertible, Equatable {
    /// The launcher failed at a named setup step ("mount-overlay", "setns-mnt", "execve", ...).
    case setupFailed(step: String, errno: Int32)
    case invalidSpec(String)
    case cgroup(String)
    case system(call: String, errno: Int32)
    /// The sandbox is destroyed (possibly during the exec, which then ended early) or its init died.
    case sandboxGone(id: String)
    /// The sandbox was destroyed while this exec ran: what it wrote until then (killed by SIGKILL).
    case endedWithSandbox(ExecResult)
    /// The launcher died or reported something unexpected.
    case launcher(String)
    /// The default template cannot be built (busybox missing or not static, ...).
    case template(String)
    case timedOut(String)

    public var description: String {
        switch self {
        case .setupFailed(let step, let errno): "sandbox setup failed at \(step): \(errnoName(errno))"
        case .invalidSpec(let message): "invalid sandbox request: \(message)"
        case .cgroup(let message): "cgroup error: \(message)"
        case .system(let call, let errno): "\(call) failed: \(errnoName(errno))"
        case .sandboxGone(let id): "sandbox \(id) is destroyed or its init died"
        case .endedWithSandbox: "the sandbox was destroyed while the command ran"
        case .launcher(let message): "launcher error: \(message)"
        case .template(let message): "template error: \(message)"
        case .timedOut(let message): "timed out: \(message)"
        }
    }
}

/// "ENOENT-style" text for an errno: the message and the number.
func errnoName(_ errno: Int32) -> String {
    "\(String(cString: strerror(errno))) (errno \(errno))"
}

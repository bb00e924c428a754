/// One line the launcher writes to its status pipe.
enum LauncherReport: Equatable {
    case ready(initPid: Int32)
    case error(step: String, errno: Int32)
    case exited(code: Int32)
    case signaled(signal: Int32)

    /// Parses all lines; unknown lines are a launcher error.
    static func parse(_ bytes: [UInt8]) throws -> [LauncherReport] {
        try String(decoding: bytes, as: UTF8.self).split(separator: "\n").map { line in
            let fields = line.split(separator: " ").map(String.init)
            switch (fields.first, fields.count) {
            case ("ready", 2): if let pid = Int32(fields[1]), pid > 0 { return .ready(initPid: pid) }
            case ("error", 3): if let errno = Int32(fields[2]) { return .error(step: fields[1], errno: errno) }
            case ("exit", 2): if let code = Int32(fields[1]) { return .exited(code: code) }
            case ("signal", 2): if let signal = Int32(fields[1]) { return .signaled(signal: signal) }
            default: break
            }
            throw SandboxError.launcher("unexpected report: \(line)")
        }
    }

    /// The first reported error, which takes precedence over anything reported after it.
    static func firstError(in reports: [LauncherReport]) -> SandboxError? {
        for case .error(let step, let errno) in reports { return .setupFailed(step: step, errno: errno) }
        return nil
    }
}

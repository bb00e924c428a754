import Foundation

/// A command to queue in a sandbox: what `exec_create` stores and the node runs.
struct ExecOrder {
    var args: [String]
    var stdin: [UInt8] = []
    /// Added to the node's defaults (PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin, HOME=/tmp).
    var env: [String: String] = [:]
    var cwd = "/"
    var mergeStderr = false
    var timeout: Double?
    /// Bytes kept per output stream; nil: the node's default (1 MiB).
    var outputLimit: Int?

    static let maxEnvVariables = 256
    static let maxEnvBytes = 64 << 10
    static let maxCwdBytes = 4096

    /// Checks `env` and `cwd` as the client gave them.
    static func checked(env: [String: String], cwd: String) throws -> (env: [String: String], cwd: String) {
        guard env.count <= maxEnvVariables else { throw APIError.malformed("env has more than \(maxEnvVariables) variables") }
        guard env.reduce(0, { $0 + $1.key.utf8.count + $1.value.utf8.count + 2 }) <= maxEnvBytes else {
            throw APIError.malformed("env is larger than \(maxEnvBytes / 1024) KiB")
        }
        for (name, value) in env {
            guard isVariableName(name) else {
                throw APIError.malformed("env name \(name) must be a letter or _ followed by letters, digits or _")
            }
            guard !value.utf8.contains(0) else { throw APIError.malformed("env \(name) must not contain NUL bytes") }
        }
        guard cwd.hasPrefix("/"), cwd.utf8.count <= maxCwdBytes else {
            throw APIError.malformed("cwd must be an absolute path of at most \(maxCwdBytes) bytes")
        }
        return (env, cwd)
    }

    private static func isVariableName(_ name: String) -> Bool {
        guard let first = name.utf8.first, !(UInt8(ascii: "0")...UInt8(ascii: "9")).contains(first) else { return false }
        return name.utf8.allSatisfy { byte in
            byte == UInt8(ascii: "_") || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
                || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
        }
    }
}

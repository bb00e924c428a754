import Foundation

/// Runs a program to completion and returns its standard output; throws with its standard error
/// when it fails. For admin work (initdb, pg_ctl), not for hot paths. Output goes through
/// temporary files, not pipes: a daemon the program leaves behind (pg_ctl's postmaster) could
/// otherwise hold a pipe open forever.
public enum Command {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
        public init(description: String) { self.description = description }
    }

    @discardableResult
    public static func run(_ arguments: [String]) throws -> String {
        let outputPath = try temporaryFile()
        let errorPath = try temporaryFile()
        defer {
            unlink(outputPath)
            unlink(errorPath)
        }
        let status = try spawnAndWait(arguments, stdout: outputPath, stderr: errorPath)
        let output = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        guard status == 0 else {
            let errors = (try? String(contentsOfFile: errorPath, encoding: .utf8)) ?? ""
            throw Failure(description: "\(arguments.joined(separator: " ")) failed (status \(status)): \(errors.suffix(2000))")
        }
        return output
    }

    /// posix_spawn and waitpid on exactly that child: no SIGCHLD machinery that another part of
    /// the process (the node's sandbox launchers) could disturb.
    private static func spawnAndWait(_ arguments: [String], stdout: String, stderr: String) throws -> Int32 {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, stdout, O_WRONLY | O_TRUNC, 0)
        posix_spawn_file_actions_addopen(&actions, 2, stderr, O_WRONLY | O_TRUNC, 0)
        let argv = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, arguments[0], &actions, nil, argv, environ)
        guard spawned == 0 else {
            throw Failure(description: "cannot run \(arguments[0]): \(String(cString: strerror(spawned)))")
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            guard errno == EINTR else { throw Failure(description: "waitpid failed: errno \(errno)") }
        }
        let exited = status & 0x7f == 0
        return exited ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    }

    private static func temporaryFile() throws -> String {
        var template = Array((NSTemporaryDirectory() + "/hera-command.XXXXXX").utf8CString)
        let fd = mkstemp(&template)
        guard fd >= 0 else { throw Failure(description: "cannot create a temporary file: errno \(errno)") }
        close(fd)
        return String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

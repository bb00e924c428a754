import Foundation
import Glibc
import HeraSupport

/// A node's template store: a root-only directory (0700) holding template root filesystems,
/// each a directory whose files belong to the sandbox user (uid/gid 65534, the user commands
/// run as), so a sandbox may change any file of its own copy of the template — the changes go
/// to its writable layer; the template itself is mounted read-only. The store must stay
/// closed to other host users: a host process running as `nobody` could otherwise edit them.
///
/// Everything is written under a `.partial-` name first and renamed when complete, so a
/// directory that exists under its final name is whole (nodes report templates by existence).
public struct TemplateStore: Sendable {
    public static let sandboxUser = "65534:65534"
    /// Bound on one copy or extraction; a template larger than this copies too slowly anyway.
    public static let copyTimeoutSeconds = 600
    static let partialPrefix = ".partial-"
    /// A file that marks a directory as a store (`prune` deletes only in one).
    static let marker = ".hera-template-store"

    public let directory: String

    /// Creates the store (mode 0700, marked) if it is missing.
    public init(directory: String) throws {
        self.directory = try Self.checked(directory)
        try SystemFile.makeDirectories(self.directory, mode: 0o700)
        try retryingEINTR("chmod(\(self.directory))") { chmod(self.directory, 0o700) }
        if !SystemFile.exists(self.directory + "/" + Self.marker) { try SystemFile.write("", to: self.directory + "/" + Self.marker) }
    }

    /// A store that exists already; nothing is created or changed.
    public init(existing directory: String) throws {
        self.directory = try Self.checked(directory)
        guard SystemFile.exists(self.directory + "/" + Self.marker) else {
            throw SandboxError.template("\(directory) is not a template store (it has no \(Self.marker))")
        }
    }

    private static func checked(_ directory: String) throws -> String {
        guard directory.hasPrefix("/"), Validation.isSafeForMountOptions(directory) else {
            throw SandboxError.invalidSpec("the template directory must be absolute, without , : \\ or spaces: \(directory)")
        }
        return directory.count > 1 && directory.hasSuffix("/") ? String(directory.dropLast()) : directory
    }

    /// Where a template made on this node from a sandbox lives.
    public func path(forTemplate id: Int) -> String { directory + "/" + String(id) }

    /// Copies a directory tree to `destination` (which must not exist) as it is: owners, modes
    /// (set-ID bits dropped), symbolic links (never followed) and hard links; other filesystems
    /// mounted below it are left out. For trees nothing else changes meanwhile.
    public func copy(tree source: String, to destination: String) throws {
        try complete(destination) { partial in
            try Self.run(["/bin/cp", "-a", "--one-file-system", "--", source + "/.", partial])
            try Self.run(["/bin/chmod", "-R", "ug-s", partial])
        }
    }

    public struct Size: Sendable {
        public let megabytes: Int
        public let files: Int
    }

    /// The disk a tree takes (MB, rounded up) and the files and directories in it.
    public func size(of path: String) throws -> Size {
        func du(_ unit: String) throws -> Int {
            let output = try Command.run(["/usr/bin/du", "-s", "-x", unit, "--", path])
            guard let number = output.split(whereSeparator: \.isWhitespace).first.flatMap({ Int($0) }) else {
                throw SandboxError.template("du printed \(output)")
            }
            return number
        }
        return Size(megabytes: try du("-B1M"), files: try du("--inodes"))
    }

    /// A path in the store for a new template directory named after `name`.
    public func newDirectory(name: String) throws -> String {
        guard !name.isEmpty, !name.contains("/"), !name.hasPrefix("."), !name.contains("\n") else {
            throw SandboxError.template("not a name for a directory of the store: \(name)")
        }
        return directory + "/" + name + "-" + Self.randomSuffix()
    }

    /// Imports a root filesystem from a directory or a tar archive (plain, gzip, xz or bzip2) into
    /// `destination` (see `newDirectory`). The files are given to the sandbox user; device files,
    /// sockets, set-user-ID bits and extended attributes are dropped. Archive members are extracted by GNU tar, which
    /// refuses names with `..`, strips leading `/` and does not write through symbolic links it
    /// extracted.
    public func importRootfs(from source: String, to destination: String) throws {
        try complete(destination) { partial in
            if SystemFile.isDirectory(source) {
                try Self.run(["/bin/cp", "-a", "--no-preserve=xattr", "--one-file-system", "--", source + "/.", partial])
            } else if SystemFile.exists(source) {
                try SystemFile.makeDirectories(partial, mode: 0o755)
                try Self.run(["/bin/tar", "-x", "--no-same-owner", "--delay-directory-restore", "-f", source, "-C", partial])
            } else {
                throw SandboxError.template("\(source) is neither a directory nor a file")
            }
            try Self.run(["/usr/bin/find", partial, "(", "-type", "b", "-o", "-type", "c", "-o", "-type", "s", ")", "-delete"])
            try Self.giveToSandboxUser(partial)
            try Self.run(["/bin/chmod", "-R", "ug-s", partial])
            try retryingEINTR("chmod(\(partial))") { chmod(partial, 0o755) }
        }
    }

    /// What a tar archive's members hold (MB, rounded up) and how many there are, as GNU tar lists them.
    public static func archiveContents(_ path: String) throws -> Size {
        let listing: String
        do {
            listing = try Command.run(["/usr/bin/timeout", "-s", "KILL", String(copyTimeoutSeconds), "/bin/tar", "--numeric-owner", "-tvf", path])
        } catch {
            throw SandboxError.template("\(path) is not a tar archive tar can read: \(error)")
        }
        // "-rw-r--r-- 0/0 1234 2024-01-01 00:00 name" (numeric owners: no spaces): the size is
        // the third field (devices: "1,3").
        let lines = listing.split(separator: "\n")
        let bytes = lines.reduce(0) { total, line in
            let size = line.split(separator: " ", omittingEmptySubsequences: true).dropFirst(2).first.flatMap { Int($0) } ?? 0
            let (sum, overflowed) = total.addingReportingOverflow(size)
            return overflowed ? Int.max : sum
        }
        return Size(megabytes: bytes / (1 << 20) + (bytes % (1 << 20) > 0 ? 1 : 0), files: lines.count)
    }

    /// Gives a whole tree to the sandbox user (symbolic links are changed, never followed).
    public static func giveToSandboxUser(_ path: String) throws {
        try run(["/bin/chown", "-R", "-h", sandboxUser, path])
    }

    /// Removes what an interrupted copy or import left behind.
    public func removePartials() throws {
        for name in try FileManager.default.contentsOfDirectory(atPath: directory) where name.hasPrefix(Self.partialPrefix) {
            try remove(directory + "/" + name)
        }
    }

    /// The store's complete entries that hold none of `used` (template root filesystems, and the
    /// directories saves are writing).
    /// Paths are compared with symbolic links resolved.
    public func unused(by used: Set<String>) throws -> [String] {
        let resolved = used.map { URL(fileURLWithPath: $0).resolvingSymlinksInPath().path }
        return try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
            .filter { !$0.hasPrefix(".") }   // the marker, copies under way
            .map { directory + "/" + $0 }
            .filter { entry in
                let path = URL(fileURLWithPath: entry).resolvingSymlinksInPath().path
                return !resolved.contains { $0 == path || $0.hasPrefix(path + "/") }
            }
    }

    /// Deletes a tree of the store (never crossing into another filesystem).
    public func remove(_ path: String) throws {
        guard path.hasPrefix(directory + "/") else { throw SandboxError.template("\(path) is not in the store \(directory)") }
        try Self.run(["/bin/rm", "-rf", "--one-file-system", "--", path])
    }

    /// Runs `body` on a `.partial-` twin of `destination`, then renames it into place;
    /// removes the twin if `body` fails.
    private func complete(_ destination: String, _ body: (String) throws -> Void) throws {
        guard !SystemFile.exists(destination) else { throw SandboxError.template("\(destination) already exists") }
        let name = String(destination.split(separator: "/").last ?? "")
        let partial = directory + "/" + Self.partialPrefix + name
        do {
            try body(partial)
            try retryingEINTR("rename(\(partial))") { rename(partial, destination) }
        } catch {
            try? remove(partial)
            throw error
        }
    }

    private static func run(_ arguments: [String]) throws {
        do {
            try Command.run(["/usr/bin/timeout", "-s", "KILL", String(copyTimeoutSeconds)] + arguments)
        } catch let failure as Command.Failure {
            throw SandboxError.template(failure.description)
        }
    }

    private static func randomSuffix() -> String {
        String((0..<8).map { _ in "0123456789abcdef".randomElement()! })
    }
}

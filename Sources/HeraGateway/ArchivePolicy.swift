/// What Hera unpacks into a sandbox: regular files, directories, and links that stay inside the
/// target directory. Refused, naming the entry: absolute paths, `..`, names or components too
/// long, symlinks whose target is absolute or leads out of the target, hardlinks to anything
/// outside the target, paths through a symlink of the same archive, devices, FIFOs, and too many entries.
/// (Unpacking runs inside the sandbox as its unprivileged user anyway; this keeps it inside `target`.)
enum ArchivePolicy {
    static let maxEntries = 10_000
    static let maxNameBytes = 1024
    static let maxComponentBytes = 255

    static func check(_ entries: [ArchiveEntry]) throws {
        guard entries.count <= maxEntries else { throw ArchiveError("the archive has more than \(maxEntries) entries") }
        var symlinks: Set<[Substring]> = []
        for entry in entries {
            let parts = try components(entry.name, of: entry)
            if let through = (1..<max(parts.count, 1)).first(where: { symlinks.contains(Array(parts.prefix($0))) }) {
                throw ArchiveError("archive entry \(entry.name): goes through the symlink \(parts.prefix(through).joined(separator: "/"))")
            }
            switch entry.kind {
            case .file, .directory:
                if parts.isEmpty && entry.kind == .file { throw ArchiveError("archive entry \(entry.name): has no name") }
            case .symlink(let target):
                try checkSymlink(target, at: parts, of: entry)
                symlinks.insert(parts)
            case .hardlink(let target):
                guard !(try components(target, of: entry)).isEmpty else { throw ArchiveError("archive entry \(entry.name): links to nothing") }
            case .refused(let reason):
                throw ArchiveError("archive entry \(entry.name): \(reason)")
            }
        }
    }

    /// The path's components below the target: refused when absolute, with `..`, or too long.
    private static func components(_ path: String, of entry: ArchiveEntry) throws -> [Substring] {
        guard path.utf8.count <= maxNameBytes else {
            throw ArchiveError("archive entry \(entry.name.prefix(64))…: a name is longer than \(maxNameBytes) bytes")
        }
        guard !path.hasPrefix("/") else { throw ArchiveError("archive entry \(entry.name): \(path) is an absolute path") }
        let parts = path.split(separator: "/").filter { $0 != "." }
        if parts.contains("..") { throw ArchiveError("archive entry \(entry.name): \(path) contains ..") }
        if parts.contains(where: { $0.utf8.count > maxComponentBytes }) {
            throw ArchiveError("archive entry \(entry.name.prefix(64))…: a name component is longer than \(maxComponentBytes) bytes")
        }
        return parts
    }

    /// A symlink's target, resolved from the link's directory, must stay inside the target.
    private static func checkSymlink(_ target: String, at parts: [Substring], of entry: ArchiveEntry) throws {
        guard !target.isEmpty, !target.hasPrefix("/") else {
            throw ArchiveError("archive entry \(entry.name): a symlink to \(target.isEmpty ? "nothing" : target) (absolute)")
        }
        guard target.utf8.count <= maxNameBytes else { throw ArchiveError("archive entry \(entry.name): the symlink's target is too long") }
        var resolved = parts.dropLast()
        for part in target.split(separator: "/") where part != "." {
            if part == ".." {
                guard resolved.popLast() != nil else { throw ArchiveError("archive entry \(entry.name): a symlink to \(target) leads outside the target") }
            } else {
                resolved.append(part)
            }
        }
    }
}

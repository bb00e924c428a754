import Foundation
import Glibc

/// The default sandbox root filesystem: a static busybox and its applets.
public enum DefaultTemplate {
    static let busyboxPath = "/bin/busybox"

    /// Builds a busybox root filesystem at `directory` from the static /bin/busybox (Debian busybox-static):
    /// bin/busybox, a symlink per applet (from `busybox --list-full`, so in bin, sbin, usr/bin or usr/sbin),
    /// etc/passwd+group (root, nobody 65534), etc/hostname, tmp, proc, dev, sys, root dirs, all owned by
    /// the sandbox user (see `TemplateStore`): keep `directory`'s parent closed to other users. Idempotent.
    /// Throws `SandboxError.template` if busybox is missing or not static.
    public static func build(at directory: String) throws {
        guard SystemFile.exists(busyboxPath) else {
            throw SandboxError.template("\(busyboxPath) is missing; install it with `apt-get install busybox-static`")
        }
        let busybox = try readFile(busyboxPath)
        guard try StaticELF.isStatic(busybox) else {
            throw SandboxError.template("\(busyboxPath) is dynamically linked; install busybox-static")
        }
        let root = directory.hasSuffix("/") ? String(directory.dropLast()) : directory
        let directories: [(String, mode_t)] = [
            ("", 0o755), ("bin", 0o755), ("sbin", 0o755), ("usr", 0o755), ("usr/bin", 0o755), ("usr/sbin", 0o755),
            ("etc", 0o755), ("tmp", 0o1777), ("proc", 0o555), ("dev", 0o755), ("sys", 0o555), ("root", 0o700),
        ]
        for (path, mode) in directories {
            let fullPath = path.isEmpty ? root : root + "/" + path
            try SystemFile.makeDirectories(fullPath, mode: 0o755)
            try retryingEINTR("chmod(\(fullPath))") { chmod(fullPath, mode) }
        }
        try installFile(root + "/bin/busybox", contents: busybox, mode: 0o755)
        for applet in try appletPaths() {
            let path = root + "/" + applet
            var info = stat()
            if lstat(path, &info) == 0 { continue }
            try retryingEINTR("symlink(\(path))") { symlink("/bin/busybox", path) }
        }
        try installFile(root + "/etc/passwd", contents: Array("""
            root:x:0:0:root:/root:/bin/sh
            nobody:x:65534:65534:nobody:/tmp:/bin/sh

            """.utf8), mode: 0o644)
        try installFile(root + "/etc/group", contents: Array("root:x:0:\nnobody:x:65534:\n".utf8), mode: 0o644)
        try installFile(root + "/etc/hostname", contents: Array("sandbox\n".utf8), mode: 0o644)
        try TemplateStore.giveToSandboxUser(root)
    }

    /// Applet paths relative to the root, e.g. "bin/ls", "usr/bin/awk".
    private static func appletPaths() throws -> [String] {
        let (status, output) = try ProcessSpawn.runCapturingOutput([busyboxPath, "--list-full"])
        guard status.exitCode == 0 else { throw SandboxError.template("`busybox --list-full` failed: \(status)") }
        let paths = String(decoding: output, as: UTF8.self).split(separator: "\n").map(String.init)
        for path in paths where path.hasPrefix("/") || path.split(separator: "/").contains("..") {
            throw SandboxError.template("unexpected applet path from busybox: \(path)")
        }
        return paths.filter { $0 != "bin/busybox" }
    }

    /// Writes a file unless it already has exactly these contents (replacing it atomically).
    private static func installFile(_ path: String, contents: [UInt8], mode: mode_t) throws {
        if SystemFile.exists(path), let existing = try? readFile(path), existing == contents { return }
        let temporary = path + ".tmp"
        guard FileManager.default.createFile(atPath: temporary, contents: Data(contents)) else {
            throw SandboxError.template("cannot write \(temporary)")
        }
        try retryingEINTR("chmod(\(temporary))") { chmod(temporary, mode) }
        try retryingEINTR("rename(\(temporary))") { rename(temporary, path) }
    }

    private static func readFile(_ path: String) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else { throw SandboxError.template("cannot read \(path)") }
        return [UInt8](data)
    }
}

/// Just enough ELF parsing to tell a static executable: no PT_INTERP program header.
enum StaticELF {
    static func isStatic(_ bytes: [UInt8]) throws -> Bool {
        guard bytes.count >= 64, bytes[0..<4] == [0x7f, 0x45, 0x4c, 0x46] else { throw SandboxError.template("not an ELF file") }
        guard bytes[4] == 2, bytes[5] == 1 else { throw SandboxError.template("only 64-bit little-endian ELF is supported") }
        func integer(at offset: Int, size: Int) -> Int {
            (0..<size).reduce(0) { $0 | Int(bytes[offset + $1]) << (8 * $1) }
        }
        let headerOffset = integer(at: 0x20, size: 8), entrySize = integer(at: 0x36, size: 2), count = integer(at: 0x38, size: 2)
        guard entrySize >= 4, headerOffset + entrySize * count <= bytes.count else { throw SandboxError.template("truncated ELF file") }
        let interpreterType = 3
        return !(0..<count).contains { integer(at: headerOffset + $0 * entrySize, size: 4) == interpreterType }
    }
}

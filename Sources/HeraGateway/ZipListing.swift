/// Lists a zip archive from its central directory, checking that each entry's local header
/// (what a streaming unzip reads) names the same file.
enum ZipListing {
    static func entries(_ bytes: [UInt8]) throws -> [ArchiveEntry] {
        let end = try endOfCentralDirectory(bytes)
        let count = integer(bytes, end + 10, 2), size = integer(bytes, end + 12, 4)
        var offset = integer(bytes, end + 16, 4)
        guard count != 0xffff, offset != 0xffff_ffff, offset + size <= end else {
            throw ArchiveError("the zip archive's central directory is malformed (or zip64, which is not supported)")
        }
        var entries: [ArchiveEntry] = []
        var declared = 0
        for _ in 0..<count {
            guard offset + 46 <= end, integer(bytes, offset, 4) == 0x0201_4b50 else {
                throw ArchiveError("the zip archive's central directory is malformed")
            }
            let nameLength = integer(bytes, offset + 28, 2)
            let next = offset + 46 + nameLength + integer(bytes, offset + 30, 2) + integer(bytes, offset + 32, 2)
            guard next <= end else { throw ArchiveError("the zip archive's central directory is malformed") }
            let name = Array(bytes[(offset + 46)..<(offset + 46 + nameLength)])
            try checkLocalHeader(bytes, at: integer(bytes, offset + 42, 4), names: name)
            let size = integer(bytes, offset + 24, 4)
            guard size != 0xffff_ffff else { throw ArchiveError("the zip archive is zip64, which is not supported") }
            declared += size
            guard declared <= Gateway.maxFileTransferBytes else {
                throw ArchiveError("the archive unpacks to more than \(Gateway.maxFileTransferBytes >> 20) MiB", tooLarge: true)
            }
            let madeOnUnix = bytes[offset + 5] == 3
            let mode = madeOnUnix ? integer(bytes, offset + 38, 4) >> 16 : 0
            entries.append(ArchiveEntry(name: String(decoding: name, as: UTF8.self), kind: kind(name: name, mode: mode)))
            offset = next
        }
        return entries
    }

    private static func kind(name: [UInt8], mode: Int) -> ArchiveEntry.Kind {
        switch mode & 0o170000 {
        case 0: name.last == UInt8(ascii: "/") ? .directory : .file
        case 0o100000: .file
        case 0o040000: .directory
        case 0o120000: .refused("is a symlink (not supported in zip archives; use tar)")
        default: .refused("is a device file, FIFO or socket")
        }
    }

    private static func checkLocalHeader(_ bytes: [UInt8], at offset: Int, names name: [UInt8]) throws {
        let display = String(decoding: name, as: UTF8.self)
        guard offset + 30 <= bytes.count, integer(bytes, offset, 4) == 0x0403_4b50 else {
            throw ArchiveError("archive entry \(display): its local header is missing")
        }
        let length = integer(bytes, offset + 26, 2)
        guard offset + 30 + length <= bytes.count, bytes[(offset + 30)..<(offset + 30 + length)].elementsEqual(name) else {
            throw ArchiveError("archive entry \(display): its local header names another file")
        }
    }

    /// The end-of-central-directory record: its signature, searched from the end (past a comment of up to 64 KiB).
    private static func endOfCentralDirectory(_ bytes: [UInt8]) throws -> Int {
        guard bytes.count >= 22 else { throw ArchiveError("not a zip archive") }
        for offset in stride(from: bytes.count - 22, through: max(0, bytes.count - 22 - 0xffff), by: -1)
        where integer(bytes, offset, 4) == 0x0605_4b50 {
            return offset
        }
        throw ArchiveError("not a zip archive (no end of central directory)")
    }

    /// A little-endian unsigned integer of `size` bytes.
    private static func integer(_ bytes: [UInt8], _ offset: Int, _ size: Int) -> Int {
        guard offset >= 0, offset + size <= bytes.count else { return -1 }
        return (0..<size).reduce(0) { $0 | Int(bytes[offset + $1]) << (8 * $1) }
    }
}

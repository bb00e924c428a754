/// Lists a tar archive (ustar, GNU long names, pax headers) from its headers alone.
enum TarListing {
    static let blockSize = 512

    static func entries(_ bytes: [UInt8]) throws -> [ArchiveEntry] {
        var entries: [ArchiveEntry] = []
        var offset = 0
        var longName: String?, longLink: String?
        var pax: [String: String] = [:]
        while offset + blockSize <= bytes.count {
            let header = bytes[offset..<offset + blockSize]
            if header.allSatisfy({ $0 == 0 }) { return entries }
            try checkChecksum(header, at: offset)
            let size = try number(header, 124, 12, at: offset)
            let dataStart = offset + blockSize
            guard size >= 0, size <= bytes.count - dataStart else { throw ArchiveError("the tar archive is truncated") }
            let data = bytes[dataStart..<dataStart + size]
            offset = dataStart + (size + blockSize - 1) / blockSize * blockSize
            let type = header[header.startIndex + 156]
            switch type {
            case UInt8(ascii: "L"): longName = text(data); continue
            case UInt8(ascii: "K"): longLink = text(data); continue
            case UInt8(ascii: "x"): pax = try paxRecords(data); continue
            case UInt8(ascii: "g"):
                guard try paxRecords(data).keys.allSatisfy({ $0 != "path" && $0 != "linkpath" }) else {
                    throw ArchiveError("the tar archive has a global path or linkpath header")
                }
                continue
            default: break
            }
            let name = pax["path"] ?? longName ?? fullName(header)
            let link = pax["linkpath"] ?? longLink ?? text(header, 157, 100)
            longName = nil; longLink = nil; pax = [:]
            entries.append(ArchiveEntry(name: name, kind: kind(type, link: link)))
        }
        throw ArchiveError("the tar archive ends without its end-of-archive blocks")
    }

    private static func kind(_ type: UInt8, link: String) -> ArchiveEntry.Kind {
        switch type {
        case 0, UInt8(ascii: "0"), UInt8(ascii: "7"): .file
        case UInt8(ascii: "5"): .directory
        case UInt8(ascii: "2"): .symlink(to: link)
        case UInt8(ascii: "1"): .hardlink(to: link)
        case UInt8(ascii: "3"), UInt8(ascii: "4"): .refused("is a device file")
        case UInt8(ascii: "6"): .refused("is a FIFO")
        default: .refused("has the unsupported tar type '\(Character(Unicode.Scalar(type)))'")
        }
    }

    /// name, under the ustar prefix when there is one.
    private static func fullName(_ header: ArraySlice<UInt8>) -> String {
        let name = text(header, 0, 100)
        let isUstar = header[(header.startIndex + 257)..<(header.startIndex + 262)].elementsEqual(Array("ustar".utf8))
        let prefix = isUstar ? text(header, 345, 155) : ""
        return prefix.isEmpty ? name : prefix + "/" + name
    }

    private static func text(_ bytes: ArraySlice<UInt8>, _ start: Int = 0, _ length: Int? = nil) -> String {
        let from = bytes.startIndex + start
        let field = bytes[from..<(length.map { from + $0 } ?? bytes.endIndex)]
        return String(decoding: field.prefix { $0 != 0 }, as: UTF8.self)
    }

    /// An octal field, or a base-256 one (first byte 0x80) as GNU tar writes large sizes.
    private static func number(_ header: ArraySlice<UInt8>, _ start: Int, _ length: Int, at offset: Int) throws -> Int {
        let field = header[(header.startIndex + start)..<(header.startIndex + start + length)]
        if let first = field.first, first & 0x80 != 0 {
            return try field.dropFirst().reduce(Int(first & 0x7f)) { value, byte in
                guard value < Int.max >> 9 else { throw ArchiveError("a tar header at byte \(offset) has a number out of range") }
                return value << 8 | Int(byte)
            }
        }
        let digits = String(decoding: field.prefix { $0 != 0 }, as: UTF8.self).trimmingCharacters(in: [" "])
        guard let value = digits.isEmpty ? 0 : Int(digits, radix: 8) else {
            throw ArchiveError("a tar header at byte \(offset) has a bad number field")
        }
        return value
    }

    private static func checkChecksum(_ header: ArraySlice<UInt8>, at offset: Int) throws {
        let checksumRange = (header.startIndex + 148)..<(header.startIndex + 156)
        let sum = header.indices.reduce(0) { $0 + (checksumRange.contains($1) ? 32 : Int(header[$1])) }
        guard try number(header, 148, 8, at: offset) == sum else { throw ArchiveError("not a tar archive (bad header checksum at byte \(offset))") }
    }

    /// pax extended header records: "<length> <key>=<value>\n".
    private static func paxRecords(_ data: ArraySlice<UInt8>) throws -> [String: String] {
        var records: [String: String] = [:]
        var rest = data
        while !rest.isEmpty {
            guard let space = rest.firstIndex(of: UInt8(ascii: " ")),
                  let length = Int(String(decoding: rest[rest.startIndex..<space], as: UTF8.self)),
                  length > space - rest.startIndex, length <= rest.count else { throw ArchiveError("a pax header is malformed") }
            let record = rest[(space + 1)..<(rest.startIndex + length - 1)]
            if let equals = record.firstIndex(of: UInt8(ascii: "=")) {
                records[String(decoding: record[record.startIndex..<equals], as: UTF8.self)] =
                    String(decoding: record[(equals + 1)...], as: UTF8.self)
            }
            rest = rest.dropFirst(length)
        }
        return records
    }
}

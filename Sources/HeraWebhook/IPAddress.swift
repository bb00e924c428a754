import Glibc

/// An IPv4 (4 bytes) or IPv6 (16 bytes) address in network byte order.
enum IPAddress: Equatable, CustomStringConvertible {
    case v4([UInt8])
    case v6([UInt8])

    /// Parses a numeric address in its standard textual form ("10.0.0.1", "::1").
    init?(_ text: String) {
        var v4 = in_addr()
        var v6 = in6_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            self = .v4(withUnsafeBytes(of: v4) { Array($0) })
        } else if inet_pton(AF_INET6, text, &v6) == 1 {
            self = .v6(withUnsafeBytes(of: v6) { Array($0) })
        } else {
            return nil
        }
    }

    var bytes: [UInt8] {
        switch self {
        case .v4(let bytes), .v6(let bytes): return bytes
        }
    }

    var description: String {
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        let family = if case .v4 = self { AF_INET } else { AF_INET6 }
        return bytes.withUnsafeBytes { raw in
            inet_ntop(family, raw.baseAddress, &text, socklen_t(text.count)) == nil
                ? "?" : String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
    }
}

/// An address prefix such as 10.0.0.0/8, with what it is for.
struct AddressBlock {
    let prefix: [UInt8]
    let length: Int
    let purpose: String

    init(_ prefix: [UInt8], _ length: Int, _ purpose: String) {
        self.prefix = prefix
        self.length = length
        self.purpose = purpose
    }

    func contains(_ bytes: [UInt8]) -> Bool {
        guard bytes.count == prefix.count else { return false }
        for bit in 0..<length {
            let mask = UInt8(0x80) >> UInt8(bit % 8)
            if bytes[bit / 8] & mask != prefix[bit / 8] & mask { return false }
        }
        return true
    }
}

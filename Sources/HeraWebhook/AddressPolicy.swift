/// The SSRF guard: which addresses a webhook may not reach unless the operator sets
/// `WebhookPolicy.allowPrivateAddresses`. Applied to every address just before connecting to it,
/// so a DNS name cannot smuggle in a private address.
///
/// IPv4: 0.0.0.0/8, 10/8, 100.64/10, 127/8, 169.254/16, 172.16/12, 192.0.0/24, 192.0.2/24,
/// 192.88.99/24, 192.168/16, 198.18/15, 198.51.100/24, 203.0.113/24, 224/4, 240/4 (with
/// 255.255.255.255).
/// IPv6: ::, ::1, ::/96 (IPv4-compatible), 64:ff9b:1::/48, 100::/64, 2001::/32 (Teredo),
/// 2001:db8::/32, fc00::/7, fe80::/10, fec0::/10, ff00::/8; and IPv4 addresses embedded in
/// ::ffff:0:0/96 (IPv4-mapped), 64:ff9b::/96 (NAT64) and 2002::/16 (6to4) are judged by the
/// IPv4 rules.
enum AddressPolicy {
    static let blockedIPv4: [AddressBlock] = [
        AddressBlock([0, 0, 0, 0], 8, "\"this network\" (includes unspecified 0.0.0.0)"),
        AddressBlock([10, 0, 0, 0], 8, "private"),
        AddressBlock([100, 64, 0, 0], 10, "carrier-grade NAT"),
        AddressBlock([127, 0, 0, 0], 8, "loopback"),
        AddressBlock([169, 254, 0, 0], 16, "link-local"),
        AddressBlock([172, 16, 0, 0], 12, "private"),
        AddressBlock([192, 0, 0, 0], 24, "IETF protocol assignments"),
        AddressBlock([192, 0, 2, 0], 24, "documentation"),
        AddressBlock([192, 88, 99, 0], 24, "6to4 relay anycast"),
        AddressBlock([192, 168, 0, 0], 16, "private"),
        AddressBlock([198, 18, 0, 0], 15, "benchmarking"),
        AddressBlock([198, 51, 100, 0], 24, "documentation"),
        AddressBlock([203, 0, 113, 0], 24, "documentation"),
        AddressBlock([224, 0, 0, 0], 4, "multicast"),
        AddressBlock([240, 0, 0, 0], 4, "reserved (includes broadcast 255.255.255.255)"),
    ]

    static let blockedIPv6: [AddressBlock] = [
        AddressBlock(ipv6Prefix([]), 128, "unspecified"),
        AddressBlock(ipv6Prefix([], last: 1), 128, "loopback"),
        AddressBlock(ipv6Prefix([]), 96, "IPv4-compatible IPv6 (deprecated)"),
        AddressBlock(ipv6Prefix([0x00, 0x64, 0xff, 0x9b, 0x00, 0x01]), 48, "local-use NAT64"),
        AddressBlock(ipv6Prefix([0x01, 0x00]), 64, "discard-only"),
        AddressBlock(ipv6Prefix([0x20, 0x01, 0x00, 0x00]), 32, "Teredo"),
        AddressBlock(ipv6Prefix([0x20, 0x01, 0x0d, 0xb8]), 32, "documentation"),
        AddressBlock(ipv6Prefix([0xfc]), 7, "unique-local"),
        AddressBlock(ipv6Prefix([0xfe, 0x80]), 10, "link-local"),
        AddressBlock(ipv6Prefix([0xfe, 0xc0]), 10, "site-local (deprecated)"),
        AddressBlock(ipv6Prefix([0xff]), 8, "multicast"),
    ]

    /// IPv6 prefixes that carry an IPv4 address, and where it sits in the 16 bytes.
    private static let embeddingIPv4: [(block: AddressBlock, offset: Int)] = [
        (AddressBlock(ipv6Prefix([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff]), 96, "IPv4-mapped"), 12),
        (AddressBlock(ipv6Prefix([0x00, 0x64, 0xff, 0x9b]), 96, "NAT64"), 12),
        (AddressBlock(ipv6Prefix([0x20, 0x02]), 16, "6to4"), 2),
    ]

    /// Why `address` is refused by default (e.g. "loopback"), or nil for a public address.
    static func refusalReason(for address: IPAddress) -> String? {
        switch address {
        case .v4(let bytes):
            return blockedIPv4.first { $0.contains(bytes) }?.purpose
        case .v6(let bytes):
            for (block, offset) in embeddingIPv4 where block.contains(bytes) {
                let embedded = Array(bytes[offset..<offset + 4])
                return refusalReason(for: .v4(embedded)).map { "\(block.purpose) \($0)" }
            }
            return blockedIPv6.first { $0.contains(bytes) }?.purpose
        }
    }

    private static func ipv6Prefix(_ leading: [UInt8], last: UInt8 = 0) -> [UInt8] {
        leading + [UInt8](repeating: 0, count: 15 - leading.count) + [last]
    }
}

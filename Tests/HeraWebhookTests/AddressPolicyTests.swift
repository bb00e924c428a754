import XCTest
@testable import HeraWebhook

final class AddressPolicyTests: XCTestCase {
    func testRefusesNonPublicAddresses() {
        let refused = [
            "0.0.0.0", "0.1.2.3", "10.0.0.1", "10.255.255.255", "100.64.0.1", "100.127.255.255", "127.0.0.1",
            "127.255.0.9", "169.254.169.254", "172.16.0.1", "172.31.255.255", "192.0.0.8", "192.0.2.1",
            "192.168.1.1", "198.18.0.1", "198.19.255.255", "198.51.100.2", "203.0.113.3", "224.0.0.1",
            "239.255.255.250", "240.0.0.1", "255.255.255.255",
            "::", "::1", "::127.0.0.1", "::8.8.8.8", "::ffff:127.0.0.1", "::ffff:10.1.2.3", "::ffff:169.254.169.254",
            "::ffff:0.0.0.0", "64:ff9b::7f00:1", "64:ff9b::a00:1", "64:ff9b:1::1", "100::1", "2001::1",
            "2001:db8::1", "2002:7f00:1::", "2002:c0a8:101::1", "fc00::1", "fd12:3456::1", "fe80::1",
            "febf::1", "fec0::1", "ff02::1", "ff0e::1",
        ]
        for text in refused {
            guard let address = IPAddress(text) else { return XCTFail("cannot parse \(text)") }
            XCTAssertNotNil(AddressPolicy.refusalReason(for: address), text)
        }
    }

    func testAllowsPublicAddresses() {
        let allowed = [
            "1.1.1.1", "8.8.8.8", "9.255.255.255", "11.0.0.1", "100.63.255.255", "100.128.0.1", "126.255.255.255",
            "128.0.0.1", "169.253.255.255", "172.15.255.255", "172.32.0.1", "192.0.1.1", "192.167.255.255",
            "192.169.0.1", "198.17.255.255", "198.20.0.1", "223.255.255.255",
            "2606:4700:4700::1111", "2a00:1450:4001::200e", "::ffff:8.8.8.8", "64:ff9b::808:808", "2002:808:808::1",
        ]
        for text in allowed {
            guard let address = IPAddress(text) else { return XCTFail("cannot parse \(text)") }
            XCTAssertNil(AddressPolicy.refusalReason(for: address), text)
        }
    }

    func testReasonNamesTheEmbeddingAndTheRange() throws {
        let mapped = try XCTUnwrap(IPAddress("::ffff:127.0.0.1"))
        XCTAssertEqual(AddressPolicy.refusalReason(for: mapped), "IPv4-mapped loopback")
        XCTAssertEqual(mapped.description, "::ffff:127.0.0.1")
    }
}

import XCTest
@testable import HeraGateway

final class UTF8BoundaryTests: XCTestCase {
    func testIncompleteTrailingCharactersAreHeldBack() {
        let smile: [UInt8] = [0xF0, 0x9F, 0x98, 0x80]   // U+1F600
        let cases: [([UInt8], Int)] = [
            ([], 0), (Array("abc".utf8), 3), ([0x41] + smile, 5),
            ([0x41] + smile.prefix(1), 1), ([0x41] + smile.prefix(2), 1), ([0x41] + smile.prefix(3), 1),
            ([0x41, 0xC3], 1), ([0x41, 0xC3, 0xA9], 3), ([0x41, 0xE2, 0x82], 1), ([0x41, 0xE2, 0x82, 0xAC], 4),
            ([0x80, 0x80, 0x80, 0x80], 4),   // not UTF-8 at all: nothing to wait for
        ]
        for (bytes, expected) in cases {
            XCTAssertEqual(UTF8Boundary.completePrefixLength(bytes), expected, "\(bytes)")
        }
    }
}

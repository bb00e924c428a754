import HeraSupport
import XCTest

final class NamesTests: XCTestCase {
    func testNamesAreCheckedByteByByte() {
        for name in ["a", "busybox", "debian-12.1_x", "0", String(repeating: "n", count: 64)] {
            XCTAssertTrue(Names.isValid(name), name)
        }
        for name in ["", "-a", ".a", "_a", "a b", "a/b", "a\n", "a\r\n", "\na", "ä", "a\u{0}", String(repeating: "n", count: 65)] {
            XCTAssertFalse(Names.isValid(name), name.debugDescription)
        }
    }
}

import Foundation
import XCTest
@testable import HeraSupport

final class JSONWriterTests: XCTestCase {
    func testWritesWhatJSONParsersReadBack() throws {
        let value: [String: Any] = [
            "text": "quote \" backslash \\ newline \n tab \t nul \u{0} del \u{7F} é 😀 /", "int": -42, "double": 0.25,
            "yes": true, "no": false, "nothing": NSNull(), "list": [1, "two", [3]], "nested": ["b": 1, "a": [:] as [String: Any]],
        ]
        let encoded = JSONWriter.encode(value)
        let decoded = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(encoded)) as? [String: Any])
        XCTAssertEqual(decoded["text"] as? String, value["text"] as? String)
        XCTAssertEqual(decoded["int"] as? Int, -42)
        XCTAssertEqual(decoded["double"] as? Double, 0.25)
        XCTAssertEqual(decoded["yes"] as? Bool, true)
        XCTAssertTrue(decoded["nothing"] is NSNull)
        XCTAssertEqual((decoded["list"] as? [Any])?.count, 3)
        XCTAssertEqual(String(decoding: JSONWriter.encode(["b": 1, "a": 2]), as: UTF8.self), #"{"a":2,"b":1}"#, "keys sorted")
    }

    func testNonFiniteNumbersAreNull() {
        XCTAssertEqual(String(decoding: JSONWriter.encode([Double.nan, .infinity]), as: UTF8.self), "[null,null]")
    }

    func testLogTimestampIsRFC3339UTCWithMilliseconds() {
        let stamp = Log.timestamp()
        XCTAssertNotNil(stamp.range(of: #"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$"#, options: .regularExpression), stamp)
    }
}

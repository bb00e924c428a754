import HeraHTTP
import XCTest
@testable import HeraGateway

/// Parameter parsing is strict: a value is exactly what the client sent, or the request is refused.
final class ParametersTests: XCTestCase {
    private func request(body: String, contentType: String = "application/x-www-form-urlencoded", query: String = "") -> HTTPRequest {
        HTTPRequest(method: "POST", target: "/sandbox/" + (query.isEmpty ? "" : "?" + query),
                    headers: HTTPHeaders([("Content-Type", contentType)]), body: Array(body.utf8))
    }

    func testFormDecodingTable() throws {
        let cases: [(String, String)] = [
            ("a+b", "a b"), ("a%2Bb", "a+b"), ("%41%42", "AB"), ("%c3%a9", "é"), ("", ""), ("x%20y", "x y"),
        ]
        for (input, expected) in cases {
            XCTAssertEqual(try Parameters.formDecode(Substring(input), field: "f"), expected, input)
        }
    }

    func testBadEscapesAreMalformedNamingTheField() {
        for input in ["%", "%4", "%ZZ", "a%", "%c3", "%ff", "%e2%82"] {
            XCTAssertThrowsError(try Parameters(request(body: "command=" + input)), input) { error in
                let apiError = error as? APIError
                XCTAssertEqual(apiError?.name, "MalformedRequest", input)
                XCTAssertEqual(apiError?.httpStatus, 400, input)
                XCTAssertTrue(apiError?.message.contains("command") == true, "\(input): \(apiError?.message ?? "")")
            }
        }
    }

    func testKeyGivenTwiceIsRefusedInFormsQueriesAndJSON() {
        let requests = [
            request(body: "memory=1&memory=2"),
            request(body: "memory=1", query: "memory=2"),
            request(body: #"{"memory": 1, "memory": 2}"#, contentType: "application/json"),
            request(body: #"{"a": {"memory": 1}, "memory": 2, "memory": 3}"#, contentType: "application/json"),
        ]
        for request in requests {
            XCTAssertThrowsError(try Parameters(request)) { error in
                XCTAssertTrue((error as? APIError)?.message.contains("memory") == true)
            }
        }
    }

    func testNestedKeysAreNotDuplicatesOfTopLevelOnes() throws {
        let parameters = try Parameters(request(body: #"{"args": ["a", "memory"], "memory": 2, "x": {"memory": 1}}"#,
                                                contentType: "application/json"))
        XCTAssertEqual(parameters["memory"], "2")
        XCTAssertEqual(parameters["args"], #"["a","memory"]"#)
    }

    func testJSONValuesBecomeTheirTextForms() throws {
        let parameters = try Parameters(request(body: #"{"memory": 64, "whole_node": true, "ratio": 1.5, "t": "x", "n": null}"#,
                                                contentType: "application/json"))
        XCTAssertEqual(parameters["memory"], "64")
        XCTAssertEqual(parameters["whole_node"], "true")
        XCTAssertEqual(parameters["ratio"], "1.5")
        XCTAssertEqual(parameters["t"], "x")
        XCTAssertNil(parameters["n"])
    }

    func testBooleansInAnyCase() throws {
        for (text, expected) in [("true", true), ("TRUE", true), ("Yes", true), ("1", true),
                                 ("false", false), ("No", false), ("0", false), ("fAlSe", false)] {
            let parameters = try Parameters(request(body: "whole_node=" + text))
            XCTAssertEqual(try parameters.bool("whole_node", default: !expected), expected, text)
        }
        XCTAssertThrowsError(try Parameters(request(body: "whole_node=maybe")).bool("whole_node", default: false))
    }

    func testNonObjectJSONAndUnknownContentTypeAreRefused() {
        XCTAssertThrowsError(try Parameters(request(body: "[1,2]", contentType: "application/json")))
        XCTAssertThrowsError(try Parameters(request(body: "{", contentType: "application/json")))
        XCTAssertThrowsError(try Parameters(request(body: "x", contentType: "text/plain"))) { error in
            XCTAssertEqual((error as? APIError)?.httpStatus, 415)
        }
    }

    func testNULBytesAreRefusedInEveryValue() {
        for body in ["template=busybox%00junk", "owner=me%00zz", "a%00b=1", "command=a%00b"] {
            XCTAssertThrowsError(try Parameters(request(body: body)), body)
        }
        XCTAssertThrowsError(try Parameters(request(body: #"{"template": "busy\u0000box"}"#, contentType: "application/json")))
    }

    func testMediaTypeMustMatchExactly() throws {
        XCTAssertNoThrow(try Parameters(request(body: "{}", contentType: "application/json; charset=utf-8")))
        for type in ["application/jsonfoo", "application/x-www-form-urlencodedXYZ"] {
            XCTAssertThrowsError(try Parameters(request(body: "a=1", contentType: type)), type)
        }
    }

    func testCommandForms() throws {
        XCTAssertEqual(try Parameters(request(body: "command=ls+-l")).command(), ["/bin/sh", "-c", "ls -l"])
        XCTAssertEqual(try Parameters(request(body: "args=%5B%22ls%22%5D")).command(), ["ls"])
        let huge = "command=" + String(repeating: "x", count: 300_000)
        for body in ["args=%5B%5D", "args=%5B1%5D", "args=ls", "args=%7B%7D", "", "args=%5B%22a%22%5D&command=b",
                     "args=%5B%22%22%5D", huge] {
            XCTAssertThrowsError(try Parameters(request(body: body)).command(), body)
        }
    }
}

import XCTest

@testable import HeraHTTP

final class HTTPHeadersTests: XCTestCase {
    func testLookupIsCaseInsensitiveAndReturnsFirstValue() {
        var headers = HTTPHeaders([(name: "Content-Type", value: "text/plain")])
        headers.add("X-Tag", "one")
        headers.add("x-tag", "two")
        XCTAssertEqual(headers["content-type"], "text/plain")
        XCTAssertEqual(headers["X-TAG"], "one")
        XCTAssertEqual(headers.values(for: "x-Tag"), ["one", "two"])
        XCTAssertNil(headers["Missing"])
        XCTAssertEqual(headers.fields.map(\.name), ["Content-Type", "X-Tag", "x-tag"])
    }

    func testValuesReturnsEveryRepeatedField() {
        let cases: [(name: String, fields: [(name: String, value: String)], expected: [String])] = [
            ("none", [("Host", "a")], []),
            ("one", [("Authorization", "Bearer x")], ["Bearer x"]),
            ("two, same case", [("Authorization", "Bearer x"), ("Authorization", "Bearer y")], ["Bearer x", "Bearer y"]),
            ("two, mixed case", [("authorization", "x"), ("Host", "a"), ("AUTHORIZATION", "y")], ["x", "y"]),
            ("two, identical values", [("Authorization", "x"), ("Authorization", "x")], ["x", "x"]),
            ("empty value kept", [("Authorization", ""), ("Authorization", "y")], ["", "y"]),
        ]
        for testCase in cases {
            XCTAssertEqual(HTTPHeaders(testCase.fields).values(for: "Authorization"), testCase.expected, testCase.name)
        }
    }

    func testRequestInitSplitsTarget() {
        let request = HTTPRequest(method: "GET", target: "/a/b?c=d?e")
        XCTAssertEqual(request.path, "/a/b")
        XCTAssertEqual(request.query, "c=d?e")
        XCTAssertEqual(HTTPRequest(method: "GET", target: "/plain").query, "")
    }
}

final class ResponseEncodingTests: XCTestCase {
    private func text(_ response: HTTPResponse, headOnly: Bool = false, keepAlive: Bool = true) -> String {
        String(decoding: ResponseEncoding.encode(response, headOnly: headOnly, keepAlive: keepAlive), as: UTF8.self)
    }

    func testAddsFramingAndReplacesHandlerFramingHeaders() {
        let response = HTTPResponse(
            status: 201,
            headers: HTTPHeaders([
                (name: "Content-Length", value: "999"), (name: "Transfer-Encoding", value: "chunked"),
                (name: "X-Ok", value: "yes"),
            ]),
            body: Array("hello".utf8))
        let encoded = text(response, keepAlive: false)
        XCTAssertTrue(encoded.hasPrefix("HTTP/1.1 201 Created\r\n"))
        XCTAssertTrue(encoded.contains("\r\nContent-Length: 5\r\n"))
        XCTAssertTrue(encoded.contains("\r\nConnection: close\r\n"))
        XCTAssertTrue(encoded.contains("\r\nX-Ok: yes\r\n"))
        XCTAssertTrue(encoded.contains("\r\nDate: "))
        XCTAssertFalse(encoded.contains("999"))
        XCTAssertFalse(encoded.contains("Transfer-Encoding"))
        XCTAssertTrue(encoded.hasSuffix("\r\n\r\nhello"))
    }

    func testHeadOnlyKeepsContentLengthButDropsBody() {
        let encoded = text(HTTPResponse(status: 200, body: Array("hello".utf8)), headOnly: true)
        XCTAssertTrue(encoded.contains("Content-Length: 5\r\n"))
        XCTAssertTrue(encoded.hasSuffix("\r\n\r\n"))
    }

    func testNoContentHasNeitherBodyNorLength() {
        let encoded = text(HTTPResponse(status: 204, body: Array("ignored".utf8)))
        XCTAssertFalse(encoded.contains("Content-Length"))
        XCTAssertTrue(encoded.hasSuffix("\r\n\r\n"))
    }

    func testDropsHeadersThatWouldSplitTheResponse() {
        let response = HTTPResponse(
            status: 200,
            headers: HTTPHeaders([(name: "X-Evil", value: "a\r\nSet-Cookie: x"), (name: "Bad Name", value: "v")]))
        let encoded = text(response)
        XCTAssertFalse(encoded.contains("Set-Cookie"))
        XCTAssertFalse(encoded.contains("Bad Name"))
    }

    func testParseFailureUsesJSONErrorBody() {
        let tooLarge = HTTPResponse.parseFailure(HTTPParseError(status: 413, reason: "too \"big\""))
        XCTAssertEqual(String(decoding: tooLarge.body, as: UTF8.self), #"{"status":"RequestTooLarge","message":"too \"big\""}"#)
        XCTAssertEqual(tooLarge.headers["Content-Type"], "application/json")
        let malformed = HTTPResponse.parseFailure(HTTPParseError(status: 505, reason: "v"))
        XCTAssertEqual(String(decoding: malformed.body, as: UTF8.self), #"{"status":"MalformedRequest","message":"v"}"#)
    }
}

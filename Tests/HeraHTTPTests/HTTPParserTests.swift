import XCTest

@testable import HeraHTTP

final class HTTPParserTests: XCTestCase {
    func testRejectsHostileAndMalformedRequestsWithTheRightStatus() {
        let cases: [(name: String, input: String, status: Int)] = [
            ("obs-fold", "GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n c\r\n\r\n", 400),
            ("space before colon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400),
            ("tab before colon", "GET / HTTP/1.1\r\nHost\t: a\r\n\r\n", 400),
            ("header without colon", "GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n", 400),
            ("empty header name", "GET / HTTP/1.1\r\nHost: a\r\n: x\r\n\r\n", 400),
            ("NUL in header value", "GET / HTTP/1.1\r\nHost: a\r\nX: a\u{0}b\r\n\r\n", 400),
            ("CR in header value", "GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n", 400),
            ("bare LF everywhere", "GET / HTTP/1.1\nHost: a\n\n", 400),
            ("bare LF after a header", "GET / HTTP/1.1\r\nHost: a\n\r\n", 400),
            ("bare LF as head terminator", "GET / HTTP/1.1\r\nHost: a\r\n\n", 400),
            ("missing Host in HTTP/1.1", "GET / HTTP/1.1\r\nAccept: */*\r\n\r\n", 400),
            ("two Host headers", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),
            ("HTTP/2.0", "GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505),
            ("HTTP/1.2", "GET / HTTP/1.2\r\nHost: a\r\n\r\n", 505),
            ("lowercase version", "GET / http/1.1\r\nHost: a\r\n\r\n", 400),
            ("version with junk", "GET / HTTP/1.10\r\nHost: a\r\n\r\n", 400),
            ("missing version", "GET /\r\nHost: a\r\n\r\n", 400),
            ("double space in request line", "GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 400),
            ("space inside target", "GET /a b HTTP/1.1\r\nHost: a\r\n\r\n", 400),
            ("control char in target", "GET /a\u{1}b HTTP/1.1\r\nHost: a\r\n\r\n", 400),
            ("DEL in target", "GET /a\u{7F}b HTTP/1.1\r\nHost: a\r\n\r\n", 400),
            ("non-ASCII in target", "GET /caf\u{E9} HTTP/1.1\r\nHost: a\r\n\r\n", 400),
            ("relative target", "GET a/b HTTP/1.1\r\nHost: a\r\n\r\n", 400),
            ("asterisk for GET", "GET * HTTP/1.1\r\nHost: a\r\n\r\n", 400),
            ("authority-form", "CONNECT a.example:443 HTTP/1.1\r\nHost: a\r\n\r\n", 400),
            ("absolute-form without authority", "GET http:///x HTTP/1.1\r\nHost: a\r\n\r\n", 400),
            ("method not a token", "G(T / HTTP/1.1\r\nHost: a\r\n\r\n", 400),
        ]
        for testCase in cases {
            for chunkSize in [Int.max, 1] {
                let outcomes = parse(testCase.input, chunkSize: chunkSize)
                XCTAssertEqual(firstError(outcomes)?.status, testCase.status, "\(testCase.name), chunk size \(chunkSize)")
                XCTAssertTrue(requests(outcomes).isEmpty, "\(testCase.name) must not yield a request")
            }
        }
    }

    func testParsesSimpleGetWithQueryAndTrimmedHeaders() throws {
        let outcomes = parse("GET /sandbox/abc?x=1&y=%20 HTTP/1.1\r\nHost: example\r\nX-Trim: \t padded value \t\r\n\r\n")
        let request = try XCTUnwrap(requests(outcomes).first)
        XCTAssertEqual(request.method, "GET")
        XCTAssertEqual(request.target, "/sandbox/abc?x=1&y=%20")
        XCTAssertEqual(request.path, "/sandbox/abc")
        XCTAssertEqual(request.query, "x=1&y=%20")
        XCTAssertEqual(request.headers["host"], "example")
        XCTAssertEqual(request.headers["X-TRIM"], "padded value")
        XCTAssertEqual(request.body, [])
        XCTAssertTrue(request.keepAlive)
    }

    func testAcceptsAbsoluteFormAndAsteriskForm() throws {
        let absolute = try XCTUnwrap(requests(parse("GET http://example.com:8080/a/b?q=1 HTTP/1.1\r\nHost: x\r\n\r\n")).first)
        XCTAssertEqual(absolute.path, "/a/b")
        XCTAssertEqual(absolute.query, "q=1")
        let bare = try XCTUnwrap(requests(parse("GET https://example.com HTTP/1.1\r\nHost: x\r\n\r\n")).first)
        XCTAssertEqual(bare.path, "/")
        let options = try XCTUnwrap(requests(parse("OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n")).first)
        XCTAssertEqual(options.path, "*")
    }

    func testPipelinedRequestsComeOutInOrder() {
        let input = "GET /1 HTTP/1.1\r\nHost: a\r\n\r\n"
            + "POST /2 HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc"
            + "POST /3 HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nxy\r\n0\r\n\r\n"
            + "GET /4 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
        for chunkSize in [Int.max, 1, 5] {
            let found = requests(parse(input, chunkSize: chunkSize))
            XCTAssertEqual(found.map(\.path), ["/1", "/2", "/3", "/4"], "chunk size \(chunkSize)")
            XCTAssertEqual(found.map { String(decoding: $0.body, as: UTF8.self) }, ["", "abc", "xy", ""])
            XCTAssertEqual(found.map(\.keepAlive), [true, true, true, false])
        }
    }

    func testByteByByteFeedingMatchesWholeFeeding() {
        let input = "\r\nPUT /f?x HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nX: y\r\n\r\nbody"
        let whole = requests(parse(input))
        let fragmented = requests(parse(input, chunkSize: 1))
        XCTAssertEqual(whole.count, 1)
        XCTAssertEqual(fragmented.map(\.target), whole.map(\.target))
        XCTAssertEqual(fragmented.map(\.body), whole.map(\.body))
        XCTAssertEqual(fragmented.first?.headers.fields.map(\.name), ["Host", "Content-Length", "X"])
    }

    func testExpectContinueIsReportedOnceBeforeTheBody() {
        let head = "POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\nContent-Length: 5\r\n\r\n"
        var parser = HTTPParser(limits: HTTPLimits())
        parser.feed(Array(head.utf8))
        guard case .expectContinue = parser.next() else { return XCTFail("expected .expectContinue") }
        guard case .needMore = parser.next() else { return XCTFail("expected .needMore after continue") }
        parser.feed(Array("hello".utf8))
        guard case .request(let request) = parser.next() else { return XCTFail("expected the request") }
        XCTAssertEqual(request.body, Array("hello".utf8))
    }

    func testExpectContinueIsSkippedWhenBodyAlreadyArrivedOrNotExpected() {
        let cases: [(name: String, input: String)] = [
            ("body sent along", "POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nhi"),
            ("no body", "GET / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n\r\n"),
            ("HTTP/1.0 ignores Expect", "POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nhi"),
        ]
        for testCase in cases {
            let outcomes = parse(testCase.input)
            XCTAssertEqual(outcomes.count, 1, testCase.name)
            XCTAssertEqual(requests(outcomes).count, 1, testCase.name)
        }
    }

    func testKeepAliveFollowsVersionAndConnectionHeader() {
        let cases: [(input: String, keepAlive: Bool)] = [
            ("GET / HTTP/1.1\r\nHost: a\r\n\r\n", true),
            ("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", false),
            ("GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, CLOSE\r\n\r\n", false),
            ("GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive\r\n\r\n", true),
            ("GET / HTTP/1.0\r\n\r\n", false),
            ("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", true),
            ("GET / HTTP/1.0\r\nConnection: keep-alive\r\nConnection: close\r\n\r\n", false),
        ]
        for testCase in cases {
            XCTAssertEqual(requests(parse(testCase.input)).first?.keepAlive, testCase.keepAlive, testCase.input)
        }
    }

    func testKeepsEveryAuthorizationHeaderForTheGatewayToRefuse() throws {
        let input = "GET / HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer one\r\nauthorization: Bearer two\r\n\r\n"
        for chunkSize in [Int.max, 1] {
            let request = try XCTUnwrap(requests(parse(input, chunkSize: chunkSize)).first)
            XCTAssertEqual(request.headers.values(for: "Authorization"), ["Bearer one", "Bearer two"])
            XCTAssertEqual(request.headers["AUTHORIZATION"], "Bearer one")
        }
    }

    func testHTTP10WithoutHostIsAccepted() {
        XCTAssertEqual(requests(parse("GET /old HTTP/1.0\r\n\r\n")).first?.path, "/old")
    }

    func testErrorIsSticky() {
        var parser = HTTPParser(limits: HTTPLimits())
        parser.feed(Array("BROKEN\r\n".utf8))
        guard case .error(let first) = parser.next() else { return XCTFail("expected an error") }
        parser.feed(Array("GET / HTTP/1.1\r\nHost: a\r\n\r\n".utf8))
        guard case .error(let second) = parser.next() else { return XCTFail("error must persist") }
        XCTAssertEqual(first, second)
    }
}

import XCTest

@testable import HeraHTTP

/// What the parser produced for one input, in order; `.needMore` is not recorded.
private enum Outcome {
    case request(HTTPRequest)
    case expectContinue
    case error(HTTPParseError)
}

/// Feeds `input` in chunks of `chunkSize` bytes (everything at once by default), draining
/// the parser after each feed and stopping at the first error.
private func parse(_ input: String, limits: HTTPLimits = HTTPLimits(), chunkSize: Int = .max) -> [Outcome] {
    var parser = HTTPParser(limits: limits)
    var outcomes: [Outcome] = []
    let bytes = Array(input.utf8)
    var offset = 0
    repeat {
        let end = offset + min(chunkSize, bytes.count - offset)
        parser.feed(Array(bytes[offset..<end]))
        offset = end
        drain: while true {
            switch parser.next() {
            case .needMore: break drain
            case .request(let request): outcomes.append(.request(request))
            case .expectContinue: outcomes.append(.expectContinue)
            case .error(let error): outcomes.append(.error(error)); return outcomes
            }
        }
    } while offset < bytes.count
    return outcomes
}

private func requests(_ outcomes: [Outcome]) -> [HTTPRequest] {
    outcomes.compactMap { if case .request(let request) = $0 { request } else { nil } }
}

private func firstError(_ outcomes: [Outcome]) -> HTTPParseError? {
    outcomes.lazy.compactMap { if case .error(let error) = $0 { error } else { nil } }.first
}

final class HTTPParserTests: XCTestCase {
    private let small = HTTPLimits(maxHeadBytes: 128, maxBodyBytes: 16)

    func testRejectsHostileAndMalformedRequestsWithTheRightStatus() {
        let post = "POST / HTTP/1.1\r\nHost: a\r\n"
        let chunked = post + "Transfer-Encoding: chunked\r\n\r\n"
        let cases: [(name: String, input: String, status: Int)] = [
            ("CL then TE", post + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
            ("TE then CL", post + "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n", 400),
            ("duplicate differing CL", post + "Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", 400),
            ("CL list that disagrees", post + "Content-Length: 5, 6\r\n\r\nhello!", 400),
            ("CL with plus sign", post + "Content-Length: +5\r\n\r\nhello", 400),
            ("CL negative", post + "Content-Length: -1\r\n\r\n", 400),
            ("CL with inner space", post + "Content-Length: 1 5\r\n\r\nhello", 400),
            ("CL empty", post + "Content-Length:\r\n\r\n", 400),
            ("CL empty list element", post + "Content-Length: 5,\r\n\r\nhello", 400),
            ("CL hexadecimal", post + "Content-Length: 0x5\r\n\r\nhello", 400),
            ("CL overflowing Int", post + "Content-Length: 99999999999999999999999999\r\n\r\n", 413),
            ("CL above body limit", post + "Content-Length: 9000000\r\n\r\n", 413),
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
            ("gzip transfer coding", post + "Transfer-Encoding: gzip\r\n\r\n", 501),
            ("gzip then chunked", post + "Transfer-Encoding: gzip, chunked\r\n\r\n", 501),
            ("chunked twice", post + "Transfer-Encoding: chunked, chunked\r\n\r\n", 400),
            ("empty transfer coding", post + "Transfer-Encoding: \r\n\r\n", 400),
            ("TE in HTTP/1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
            ("chunk size not hex", chunked + "zz\r\n", 400),
            ("chunk size negative", chunked + "-1\r\n", 400),
            ("chunk size empty", chunked + "\r\n", 400),
            ("chunk size with leading space", chunked + " 5\r\nhello\r\n0\r\n\r\n", 400),
            ("chunk size with trailing junk", chunked + "5x\r\nhello\r\n0\r\n\r\n", 400),
            ("chunk size with 0x prefix", chunked + "0x5\r\nhello\r\n0\r\n\r\n", 400),
            ("chunk size overflowing Int", chunked + "FFFFFFFFFFFFFFFFFFFFFF\r\n", 413),
            ("chunk size line bare LF", chunked + "5\nhello\r\n0\r\n\r\n", 400),
            ("chunk data without CRLF", chunked + "5\r\nhelloXX0\r\n\r\n", 400),
            ("chunk data longer than size", chunked + "2\r\nhello\r\n0\r\n\r\n", 400),
        ]
        for testCase in cases {
            for chunkSize in [Int.max, 1] {
                let outcomes = parse(testCase.input, chunkSize: chunkSize)
                XCTAssertEqual(firstError(outcomes)?.status, testCase.status, "\(testCase.name), chunk size \(chunkSize)")
                XCTAssertTrue(requests(outcomes).isEmpty, "\(testCase.name) must not yield a request")
            }
        }
    }

    func testEnforcesHeadAndBodyLimits() {
        let longHeader = "GET / HTTP/1.1\r\nHost: a\r\nX-Long: \(String(repeating: "a", count: 200))\r\n\r\n"
        let incompleteLongHead = "GET /\(String(repeating: "a", count: 200))"
        let chunked = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
        let cases: [(name: String, input: String, status: Int)] = [
            ("oversized head", longHeader, 431),
            ("oversized head still incomplete", incompleteLongHead, 431),
            ("endless blank lines before request line", String(repeating: "\r\n", count: 100), 431),
            ("Content-Length over limit", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 17\r\n\r\n", 413),
            ("single chunk over limit", chunked + "11\r\n", 413),
            ("chunks adding up over limit", chunked + "8\r\naaaaaaaa\r\n8\r\nbbbbbbbb\r\n1\r\n", 413),
            ("oversized trailers", chunked + "0\r\nX-T: \(String(repeating: "t", count: 200))\r\n\r\n", 431),
            ("oversized chunk extension", chunked + "1;\(String(repeating: "e", count: 5000))\r\n", 400),
        ]
        for testCase in cases {
            for chunkSize in [Int.max, 1] {
                let outcomes = parse(testCase.input, limits: small, chunkSize: chunkSize)
                XCTAssertEqual(firstError(outcomes)?.status, testCase.status, "\(testCase.name), chunk size \(chunkSize)")
            }
        }
    }

    func testBodyExactlyAtLimitIsAccepted() {
        let body = String(repeating: "b", count: 16)
        let fixed = parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 16\r\n\r\n" + body, limits: small)
        XCTAssertEqual(requests(fixed).first?.body, Array(body.utf8))
        let chunked = parse(
            "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n\(body)\r\n0\r\n\r\n", limits: small)
        XCTAssertEqual(requests(chunked).first?.body, Array(body.utf8))
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

    func testAcceptsEquivalentContentLengthsAndSurroundingWhitespace() {
        let cases = [
            "Content-Length: 5, 5",
            "Content-Length: 5\r\nContent-Length: 5",
            "Content-Length:    5   ",
            "Content-Length: 005",
        ]
        for header in cases {
            let outcomes = parse("POST / HTTP/1.1\r\nHost: a\r\n\(header)\r\n\r\nhello")
            XCTAssertEqual(requests(outcomes).first?.body, Array("hello".utf8), header)
        }
    }

    func testDecodesChunkedBodyIgnoringExtensionsAndTrailers() {
        let input = "POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n"
            + "5;name=value\r\nhello\r\n6 ; x\r\n world\r\nA\r\n0123456789\r\n0\r\nX-Checksum: abc\r\n\r\n"
        for chunkSize in [Int.max, 1, 7] {
            let found = requests(parse(input, chunkSize: chunkSize))
            XCTAssertEqual(found.count, 1)
            XCTAssertEqual(found.first.map { String(decoding: $0.body, as: UTF8.self) }, "hello world0123456789")
            XCTAssertNil(found.first?.headers["X-Checksum"], "trailers are not merged into headers")
        }
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

    func testNeverCrashesOnArbitraryBytes() {
        var generator = SplitMix64(seed: 9112)
        let alphabet = Array("GET /HTP1.\r\n: \t0123456789abcdefxChunkedTransfer-EncodingContent-Length,;\u{0}".utf8)
        for _ in 0..<300 {
            var parser = HTTPParser(limits: small)
            for _ in 0..<20 {
                let chunk = (0..<Int.random(in: 0...40, using: &generator)).map { _ in
                    Bool.random(using: &generator)
                        ? alphabet.randomElement(using: &generator) ?? 0 : UInt8.random(in: 0...255, using: &generator)
                }
                parser.feed(chunk)
                while case .request = parser.next() {}
            }
        }
    }
}

/// A small seeded generator so the garbage-input test is reproducible.
private struct SplitMix64: RandomNumberGenerator {
    var state: UInt64

    init(seed: UInt64) {
        state = seed
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var mixed = state
        mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
        mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
        return mixed ^ (mixed >> 31)
    }
}

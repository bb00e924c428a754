import XCTest

@testable import HeraHTTP

/// Chunked transfer coding (RFC 9112 §7.1): malformed chunk framing is a 400 and closes the connection.
final class ChunkedBodyTests: ServerTestCase {
    private static let head = "POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
    private static let next = "GET /next HTTP/1.1\r\nHost: a\r\n\r\n"

    private static let rejected: [(name: String, body: String)] = [
        ("size with junk", "1x\r\na\r\n0\r\n\r\n"),
        ("size with trailing junk", "5x\r\nhello\r\n0\r\n\r\n"),
        ("size not hex", "zz\r\n"),
        ("size negative", "-1\r\n"),
        ("size with plus sign", "+5\r\nhello\r\n0\r\n\r\n"),
        ("size empty", "\r\n"),
        ("size with leading space", " 5\r\nhello\r\n0\r\n\r\n"),
        ("size with trailing space only", "5 \r\nhello\r\n0\r\n\r\n"),
        ("size with 0x prefix", "0x5\r\nhello\r\n0\r\n\r\n"),
        ("size overflowing Int", "FFFFFFFFFFFFFFFFFFFFFF\r\n"),
        ("size just above Int.max", "8000000000000000\r\n"),
        ("size 17 hex digits", "10000000000000000\r\nhello\r\n0\r\n\r\n"),
        ("data longer than declared", "2\r\nhello\r\n0\r\n\r\n"),
        ("data shorter than declared", "9\r\nhello\r\n0\r\n\r\n"),
        ("missing CRLF after data", "5\r\nhello0\r\n\r\n"),
        ("junk instead of CRLF after data", "5\r\nhelloXX0\r\n\r\n"),
        ("bare CR after data", "5\r\nhello\r0\r\n\r\n"),
        ("LF-only after size", "5\nhello\r\n0\r\n\r\n"),
        ("LF-only after data", "5\r\nhello\n0\r\n\r\n"),
        ("LF-only after last chunk", "0\n\r\n"),
        ("LF-only ending trailers", "0\r\n\n"),
        ("LF-only after trailer field", "0\r\nX-T: v\n\r\n"),
        ("LF inside extension", "5;a\nb\r\nhello\r\n0\r\n\r\n"),
        ("CR inside extension", "5;a\rb\r\nhello\r\n0\r\n\r\n"),
        ("extension without name", "5;\r\nhello\r\n0\r\n\r\n"),
        ("extension with empty value", "5;a=\r\nhello\r\n0\r\n\r\n"),
        ("extension name not a token", "5;a@b\r\nhello\r\n0\r\n\r\n"),
        ("extension value with space", "5;a=b c\r\nhello\r\n0\r\n\r\n"),
        ("extension unterminated quote", "5;a=\"b\r\nhello\r\n0\r\n\r\n"),
        ("extension NUL in quote", "5;a=\"\u{0}\"\r\nhello\r\n0\r\n\r\n"),
        ("extension without semicolon", "5 a=b\r\nhello\r\n0\r\n\r\n"),
        ("trailer without colon", "0\r\nNoColon\r\n\r\n"),
        ("trailer obs-fold", "0\r\nX-T: a\r\n b\r\n\r\n"),
    ]

    private static let accepted: [(name: String, body: String)] = [
        ("plain", "5\r\nhello\r\n0\r\n\r\n"),
        ("extension with value", "5;name=value\r\nhello\r\n0\r\n\r\n"),
        ("extension without value", "5;name\r\nhello\r\n0\r\n\r\n"),
        ("extension with whitespace", "5 ; name = value\r\nhello\r\n0\r\n\r\n"),
        ("several extensions", "5;a;b=c;d=\"e\"\r\nhello\r\n0;last\r\n\r\n"),
        ("quoted extension with escapes", "5;q=\"x \\\" y;z\"\r\nhello\r\n0\r\n\r\n"),
        ("split into chunks", "2\r\nhe\r\n3\r\nllo\r\n0\r\n\r\n"),
        ("uppercase hex and leading zeros", "0002\r\nhe\r\n00003\r\nllo\r\n000\r\n\r\n"),
        ("trailers", "5\r\nhello\r\n0\r\nX-Checksum: abc\r\nX-Other: d\r\n\r\n"),
    ]

    func testMalformedChunkingIsRejectedByTheParser() {
        for row in Self.rejected {
            for chunkSize in [Int.max, 1] {
                let outcomes = parse(Self.head + row.body + Self.next, chunkSize: chunkSize)
                XCTAssertEqual(firstError(outcomes)?.status, 400, "\(row.name), chunk size \(chunkSize)")
                XCTAssertTrue(requests(outcomes).isEmpty, "\(row.name) must not yield a request")
            }
        }
    }

    func testWellFormedChunkingIsDecoded() {
        for row in Self.accepted {
            for chunkSize in [Int.max, 1, 7] {
                let found = requests(parse(Self.head + row.body + Self.next, chunkSize: chunkSize))
                XCTAssertEqual(found.map(\.path), ["/up", "/next"], "\(row.name), chunk size \(chunkSize)")
                XCTAssertEqual(found.first?.body, Array("hello".utf8), row.name)
                XCTAssertNil(found.first?.headers["X-Checksum"], "trailers are not merged into headers")
            }
        }
    }

    func testServerSendsExactlyOneErrorResponseAndCloses() throws {
        let (server, calls) = try startCountingServer()
        for row in Self.rejected {
            try assertSingleErrorResponse(Self.head + row.body + Self.next, status: 400, to: server, row.name)
        }
        XCTAssertEqual(calls.count, 0)
    }
}

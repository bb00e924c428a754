import XCTest

@testable import HeraHTTP

/// Framing ambiguities (RFC 9112 §6.3): every row must be refused with one error response and a
/// closed connection, so the bytes after it can never be read as a second ("smuggled") request.
final class RequestSmugglingTests: ServerTestCase {
    private static let post = "POST / HTTP/1.1\r\nHost: a\r\n"
    /// A request hidden in the body of the ambiguous one; it must never reach the handler.
    private static let smuggled = "GET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n"

    private static let rejected: [(name: String, headers: String, status: Int)] = [
        ("CL then TE", "Content-Length: 5\r\nTransfer-Encoding: chunked", 400),
        ("TE then CL", "Transfer-Encoding: chunked\r\nContent-Length: 5", 400),
        ("CL 0 with TE", "Content-Length: 0\r\nTransfer-Encoding: chunked", 400),
        ("two different CLs", "Content-Length: 5\r\nContent-Length: 6", 400),
        ("CL list that disagrees", "Content-Length: 5, 6", 400),
        ("CL with plus sign", "Content-Length: +5", 400),
        ("CL hexadecimal", "Content-Length: 0x5", 400),
        ("CL negative", "Content-Length: -1", 400),
        ("CL 20 digits", "Content-Length: 99999999999999999999", 400),
        ("CL 20 digits with leading zeros", "Content-Length: 00000000000000000005", 400),
        ("CL 19 digits overflowing Int", "Content-Length: 9999999999999999999", 400),
        ("CL 26 digits", "Content-Length: 99999999999999999999999999", 400),
        ("CL decimal point", "Content-Length: 5.0", 400),
        ("CL inner space", "Content-Length: 1 5", 400),
        ("CL empty", "Content-Length:", 400),
        ("CL empty list element", "Content-Length: 5,", 400),
        ("CL non-ASCII digit", "Content-Length: \u{0665}", 400),
        ("CL space before colon", "Content-Length : 5", 400),
        ("CL folded onto next line", "Content-Length:\r\n 5", 400),
        ("TE space before colon", "Transfer-Encoding : chunked", 400),
        ("TE chunked twice", "Transfer-Encoding: chunked, chunked", 400),
        ("TE chunked in two fields", "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked", 400),
        ("TE empty", "Transfer-Encoding: ", 400),
        ("TE gzip", "Transfer-Encoding: gzip", 501),
        ("TE chunked then gzip", "Transfer-Encoding: chunked, gzip", 501),
        ("TE unknown x-chunked", "Transfer-Encoding: xchunked", 501),
        ("TE bare LF after value", "Transfer-Encoding: chunked\n", 400),
    ]

    /// Repeats that agree are accepted (RFC 9110 §8.6): every reading gives 5.
    private static let accepted: [(name: String, headers: String)] = [
        ("single CL", "Content-Length: 5"),
        ("CL list with identical repeats", "Content-Length: 5,5"),
        ("CL list with spaces", "Content-Length: 5 , 5"),
        ("CL twice, same value", "Content-Length: 5\r\nContent-Length: 5"),
        ("CL with leading zeros", "Content-Length: 005"),
        ("CL 19 digits with leading zeros", "Content-Length: 0000000000000000005"),
        ("CL surrounded by whitespace", "Content-Length: \t 5 \t"),
    ]

    func testAmbiguousFramingIsRejectedByTheParser() {
        for row in Self.rejected {
            let input = Self.post + row.headers + "\r\n\r\n0\r\n\r\n" + Self.smuggled
            for chunkSize in [Int.max, 1] {
                let outcomes = parse(input, chunkSize: chunkSize)
                XCTAssertEqual(firstError(outcomes)?.status, row.status, "\(row.name), chunk size \(chunkSize)")
                XCTAssertTrue(requests(outcomes).isEmpty, "\(row.name) must not yield a request")
            }
        }
    }

    func testTransferEncodingInHTTP10IsRejected() {
        let outcomes = parse("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
        XCTAssertEqual(firstError(outcomes)?.status, 400)
    }

    func testAgreeingContentLengthsAreAccepted() {
        for row in Self.accepted {
            let outcomes = parse(Self.post + row.headers + "\r\n\r\nhello" + Self.smuggled)
            XCTAssertEqual(requests(outcomes).map(\.body), [Array("hello".utf8), []], row.name)
            XCTAssertEqual(requests(outcomes).last?.path, "/smuggled", "\(row.name): the next request follows")
        }
    }

    func testServerSendsExactlyOneErrorResponseAndCloses() throws {
        let (server, calls) = try startCountingServer()
        for row in Self.rejected {
            let input = Self.post + row.headers + "\r\n\r\n0\r\n\r\n" + Self.smuggled + Self.smuggled
            try assertSingleErrorResponse(input, status: row.status, to: server, row.name)
        }
        XCTAssertEqual(calls.count, 0, "no smuggled request reached the handler")
    }
}

import XCTest

@testable import HeraHTTP

/// Size limits: each row sits just inside or just outside one limit of `HTTPLimits`.
final class HTTPLimitsTests: ServerTestCase {
    /// maxRequestLineBytes 64, maxHeadBytes 256, maxHeaderCount 5, maxBodyBytes 16.
    private static let small = HTTPLimits(maxHeadBytes: 256, maxBodyBytes: 16, maxRequestLineBytes: 64, maxHeaderCount: 5)

    /// A request line of exactly `length` bytes (without CRLF).
    private static func requestLine(length: Int) -> String {
        let fixed = "GET / HTTP/1.1".utf8.count
        return "GET /\(String(repeating: "a", count: length - fixed)) HTTP/1.1"
    }

    private static func fields(_ count: Int) -> String {
        (0..<count).map { "X-\($0): v\r\n" }.joined()
    }

    private static let chunked = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"

    /// (name, limits, input, expected status; 200 means "parsed into a request").
    private static let rows: [(name: String, limits: HTTPLimits, input: String, status: Int)] = [
        ("request line at cap", small, requestLine(length: 64) + "\r\nHost: a\r\n\r\n", 200),
        ("request line over cap", small, requestLine(length: 65) + "\r\nHost: a\r\n\r\n", 414),
        ("request line over cap, incomplete", small, requestLine(length: 66), 414),
        ("endless target", small, "GET /" + String(repeating: "a", count: 200), 414),
        ("request line at default cap", HTTPLimits(), requestLine(length: 8192) + "\r\nHost: a\r\n\r\n", 200),
        ("request line over default cap", HTTPLimits(), requestLine(length: 8193) + "\r\nHost: a\r\n\r\n", 414),
        (
            "request line cap above head cap", HTTPLimits(maxHeadBytes: 128, maxRequestLineBytes: 1000),
            requestLine(length: 200) + "\r\n\r\n", 431
        ),
        ("header count at cap", small, "GET / HTTP/1.1\r\nHost: a\r\n" + fields(4) + "\r\n", 200),
        ("header count over cap", small, "GET / HTTP/1.1\r\nHost: a\r\n" + fields(5) + "\r\n", 431),
        ("header count at default cap", HTTPLimits(), "GET / HTTP/1.1\r\nHost: a\r\n" + fields(99) + "\r\n", 200),
        ("header count over default cap", HTTPLimits(), "GET / HTTP/1.1\r\nHost: a\r\n" + fields(100) + "\r\n", 431),
        ("trailer count over cap", small, chunked + "0\r\n" + fields(6) + "\r\n", 431),
        ("head over cap", small, "GET / HTTP/1.1\r\nHost: a\r\nX: \(String(repeating: "a", count: 300))\r\n\r\n", 431),
        ("head over cap, incomplete", small, "GET / HTTP/1.1\r\nX: \(String(repeating: "a", count: 300))", 431),
        ("blank lines before request line", small, String(repeating: "\r\n", count: 200), 431),
        ("trailers over cap", small, chunked + "0\r\nX-T: \(String(repeating: "t", count: 300))\r\n\r\n", 431),
        ("chunk size line over 4 KiB", small, chunked + "1;\(String(repeating: "e", count: 5000))\r\n", 400),
        ("Content-Length at cap", small, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 16\r\n\r\n" + String(repeating: "b", count: 16), 200),
        ("Content-Length over cap", small, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 17\r\n\r\n", 413),
        ("Content-Length over default cap", HTTPLimits(), "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 8388609\r\n\r\n", 413),
        ("chunked body at cap", small, chunked + "10\r\n\(String(repeating: "b", count: 16))\r\n0\r\n\r\n", 200),
        ("single chunk over cap", small, chunked + "11\r\n", 413),
        ("chunks adding up over cap", small, chunked + "8\r\naaaaaaaa\r\n8\r\nbbbbbbbb\r\n1\r\n", 413),
    ]

    func testDefaultsAreTheDocumentedValues() {
        let limits = HTTPLimits()
        XCTAssertEqual(limits.maxRequestLineBytes, 8 * 1024)
        XCTAssertEqual(limits.maxHeadBytes, 16 * 1024)
        XCTAssertEqual(limits.maxHeaderCount, 100)
        XCTAssertEqual(limits.maxBodyBytes, 8 * 1024 * 1024)
        XCTAssertEqual(limits.maxConnections, 1024)
    }

    func testParserEnforcesLimits() {
        for row in Self.rows {
            for chunkSize in [Int.max, 1] {
                let outcomes = parse(row.input, limits: row.limits, chunkSize: chunkSize)
                let status = firstError(outcomes)?.status ?? (requests(outcomes).count == 1 ? 200 : 0)
                XCTAssertEqual(status, row.status, "\(row.name), chunk size \(chunkSize)")
            }
        }
    }

    func testServerAnswersOversizedRequestsOnceAndCloses() throws {
        for row in Self.rows where row.status != 200 {
            let server = try startServer(limits: row.limits)
            try assertSingleErrorResponse(row.input, status: row.status, to: server, row.name)
        }
    }
}

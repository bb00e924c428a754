import XCTest

@testable import HeraHTTP

/// Several requests sent back to back without waiting (RFC 9112 §9.3.2) are answered in order.
final class PipeliningTests: ServerTestCase {
    private static let requests = "GET /a HTTP/1.1\r\nHost: t\r\n\r\n"
        + "POST /b HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nhi"
        + "POST /c HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n3;x=y\r\nyo!\r\n0\r\n\r\n"

    /// (name, bytes per write)
    private static let rows: [(name: String, writeSize: Int)] = [
        ("all three in one write", Int.max),
        ("one byte per write", 1),
        ("seven bytes per write", 7),
    ]

    func testPipelinedRequestsGetThreeResponsesInOrder() throws {
        let server = try startServer()
        let bytes = Array(Self.requests.utf8)
        for row in Self.rows {
            let client = try TestClient(port: server.port)
            for start in stride(from: 0, to: bytes.count, by: min(row.writeSize, bytes.count)) {
                try client.send(Array(bytes[start..<min(start + row.writeSize, bytes.count)]))
            }
            let responses = try (0..<3).map { _ in try client.readResponse() }
            XCTAssertEqual(responses.map(\.bodyText), ["GET /a ", "POST /b hi", "POST /c yo!"], row.name)
            XCTAssertEqual(responses.map(\.status), [200, 200, 200], row.name)
            XCTAssertEqual(responses.map { $0.headers["connection"] }, ["keep-alive", "keep-alive", "close"], row.name)
            XCTAssertEqual(try client.readUntilClosed(), [], "\(row.name): nothing after the third response")
        }
    }
}

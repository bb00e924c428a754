import Foundation
import Glibc
import XCTest

struct TestClientError: Error, CustomStringConvertible {
    let description: String
}

/// A response as read off the wire by `TestClient`.
struct TestResponse {
    var status: Int
    var headers: [String: String]  // lowercased names
    var body: [UInt8]
    var bodyText: String { String(decoding: body, as: UTF8.self) }
}

/// A minimal blocking HTTP client over a raw loopback socket, for driving the server in tests.
final class TestClient {
    private let descriptor: Int32
    private var buffered: [UInt8] = []
    private var isOpen = true

    init(port: Int) throws {
        descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw TestClientError(description: "socket: errno \(errno)") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard result == 0 else {
            let code = errno
            Glibc.close(descriptor)
            throw TestClientError(description: "connect: errno \(code)")
        }
        // Small writes go out as they are made, so a test can really send one byte per segment.
        var noDelay: Int32 = 1
        setsockopt(descriptor, Int32(IPPROTO_TCP), TCP_NODELAY, &noDelay, socklen_t(MemoryLayout<Int32>.size))
    }

    deinit {
        close()
    }

    func close() {
        if isOpen { Glibc.close(descriptor) }
        isOpen = false
    }

    func send(_ text: String) throws {
        try send(Array(text.utf8))
    }

    func send(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes {
                Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
            }
            guard sent > 0 else { throw TestClientError(description: "send: errno \(errno)") }
            offset += sent
        }
    }

    /// Reads one response; `hasBody: false` for answers to HEAD and interim responses.
    func readResponse(timeout: Double = 3, hasBody: Bool = true) throws -> TestResponse {
        let deadline = Date(timeIntervalSinceNow: timeout)
        var headEnd = headTerminator()
        while headEnd == nil {
            guard try fill(until: deadline) else { throw TestClientError(description: "closed before response head") }
            headEnd = headTerminator()
        }
        let headEndIndex = headEnd ?? 0
        let head = String(decoding: buffered[..<headEndIndex], as: UTF8.self)
        buffered.removeFirst(headEndIndex + 4)
        var lines = head.components(separatedBy: "\r\n")
        let statusLine = lines.removeFirst().split(separator: " ")
        guard statusLine.count >= 2, let status = Int(statusLine[1]) else {
            throw TestClientError(description: "bad status line in \(head)")
        }
        var headers: [String: String] = [:]
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        let length = hasBody ? Int(headers["content-length"] ?? "0") ?? 0 : 0
        while buffered.count < length {
            guard try fill(until: deadline) else { throw TestClientError(description: "closed inside body") }
        }
        let body = Array(buffered.prefix(length))
        buffered.removeFirst(length)
        return TestResponse(status: status, headers: headers, body: body)
    }

    /// Reads until the server closes; returns everything not yet consumed.
    func readUntilClosed(timeout: Double = 3) throws -> [UInt8] {
        let deadline = Date(timeIntervalSinceNow: timeout)
        while try fill(until: deadline) {}
        defer { buffered = [] }
        return buffered
    }

    /// Buffers whatever has arrived without blocking; true once the server closed (or reset).
    func hasBeenClosedByPeer() -> Bool {
        var state = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        while poll(&state, 1, 0) > 0 {
            var chunk = [UInt8](repeating: 0, count: 4096)
            let count = chunk.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { return true }
            buffered.append(contentsOf: chunk.prefix(count))
        }
        return false
    }

    /// Closes with SO_LINGER 0 so the server sees a reset, like a client that crashed.
    func abort() {
        var linger = linger(l_onoff: 1, l_linger: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<linger>.size))
        close()
    }

    /// Reads more bytes; false on end of stream (or reset); throws on timeout.
    private func fill(until deadline: Date) throws -> Bool {
        var state = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        let milliseconds = Int32(max(0, deadline.timeIntervalSinceNow * 1000))
        guard poll(&state, 1, milliseconds) > 0 else { throw TestClientError(description: "read timed out") }
        var chunk = [UInt8](repeating: 0, count: 65536)
        let count = chunk.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
        guard count > 0 else { return false }
        buffered.append(contentsOf: chunk.prefix(count))
        return true
    }

    private func headTerminator() -> Int? {
        guard buffered.count >= 4 else { return nil }
        return (0...(buffered.count - 4)).first { buffered[$0..<($0 + 4)].elementsEqual([13, 10, 13, 10]) }
    }
}

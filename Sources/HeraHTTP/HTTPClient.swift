import Glibc

/// A small blocking HTTP/1.1 client for one server over IPv4, keeping its connection alive
/// between requests: for the load tools and the tests. Responses must carry Content-Length
/// (Hera's server always sends it) or end at close. Not for untrusted servers on the Internet.
public final class HTTPClient {
    public let host: String
    public let port: Int
    public let timeout: Double
    public static let maxResponseBytes = 64 << 20

    private var socket: Socket?
    private var buffer: [UInt8] = []

    public init(host: String = "127.0.0.1", port: Int, timeout: Double = 120) {
        self.host = host
        self.port = port
        self.timeout = timeout
    }

    deinit { close() }

    public func close() {
        socket?.close()
        socket = nil
        buffer = []
    }

    /// Sends one request and reads its response. A kept-alive connection that the server had
    /// closed is reopened once.
    public func send(_ method: String, _ target: String, headers: HTTPHeaders = HTTPHeaders(),
                     body: [UInt8] = []) throws -> HTTPResponse {
        var head = "\(method) \(target) HTTP/1.1\r\nHost: \(host):\(port)\r\nContent-Length: \(body.count)\r\n"
        for field in headers.fields { head += "\(field.name): \(field.value)\r\n" }
        let request = Array((head + "\r\n").utf8) + body
        let reused = socket != nil
        do {
            return try exchange(request)
        } catch {
            close()
            guard reused else { throw error }
            return try exchange(request)
        }
    }

    /// Sends bytes as they are (a request head, say, without its body) and reads one response.
    public func sendRaw(_ bytes: [UInt8]) throws -> HTTPResponse {
        try exchange(bytes)
    }

    private func exchange(_ request: [UInt8]) throws -> HTTPResponse {
        let deadline = Deadline.after(seconds: timeout)
        let connection = try socket ?? connect()
        socket = connection
        try connection.sendAll(request, until: deadline)
        let headEnd = try readUntilHeadEnd(connection, deadline)
        let headText = String(decoding: buffer[..<headEnd], as: UTF8.self)
        buffer.removeFirst(headEnd + 4)
        var lines = headText.split(separator: "\r\n", omittingEmptySubsequences: false).makeIterator()
        let statusParts = (lines.next() ?? "").split(separator: " ")
        guard statusParts.count >= 2, statusParts[0].hasPrefix("HTTP/1."), let status = Int(statusParts[1]) else {
            throw SocketError(call: "read response", code: EPROTO, message: "malformed status line")
        }
        var headers = HTTPHeaders()
        while let line = lines.next() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers.add(String(line[..<colon]), String(line[line.index(after: colon)...]).trimmingOWS())
        }
        let body: [UInt8]
        if let lengthText = headers["Content-Length"] {
            guard let length = Int(lengthText), length >= 0, length <= HTTPClient.maxResponseBytes else {
                throw SocketError(call: "read response", code: EPROTO, message: "bad Content-Length")
            }
            while buffer.count < length { try receiveMore(connection, deadline) }
            body = Array(buffer.prefix(length))
            buffer.removeFirst(length)
        } else {
            while (try? receiveMore(connection, deadline)) != nil {}
            body = buffer
            buffer = []
            close()
        }
        if headers["Connection"]?.lowercased() == "close" { close() }
        return HTTPResponse(status: status, headers: headers, body: body)
    }

    private func readUntilHeadEnd(_ connection: Socket, _ deadline: Deadline) throws -> Int {
        let terminator: [UInt8] = [13, 10, 13, 10]
        var searchFrom = 0
        while true {
            if buffer.count >= 4 {
                for index in searchFrom...(buffer.count - 4) where buffer[index..<index + 4].elementsEqual(terminator) {
                    return index
                }
                searchFrom = buffer.count - 3
            }
            guard buffer.count < 1 << 20 else { throw SocketError(call: "read response", code: EPROTO, message: "head too large") }
            try receiveMore(connection, deadline)
        }
    }

    private func receiveMore(_ connection: Socket, _ deadline: Deadline) throws {
        switch try connection.receive(maxBytes: 64 * 1024, until: deadline) {
        case .bytes(let bytes): buffer += bytes
        case .endOfStream: throw SocketError(call: "recv", code: ECONNRESET, message: "connection closed by the server")
        case .timedOut: throw SocketError(call: "recv", code: ETIMEDOUT)
        }
    }

    private func connect() throws -> Socket {
        let descriptor = try systemCall("socket") { Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0) }
        let connection = Socket(descriptor: descriptor)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(truncatingIfNeeded: port).bigEndian)
        guard inet_pton(AF_INET, host, &address.sin_addr) == 1 else {
            connection.close()
            throw SocketError(call: "inet_pton(\(host))", code: EINVAL, message: "not an IPv4 address")
        }
        do {
            try systemCall("connect(\(host):\(port))") {
                withUnsafePointer(to: &address) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        Glibc.connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                    }
                }
            }
            try connection.setOption(Int32(IPPROTO_TCP), TCP_NODELAY, 1)
        } catch {
            connection.close()
            throw error
        }
        return connection
    }
}

import Foundation
import Glibc

/// A minimal blocking HTTP/1.1 client over loopback for tests: one request per connection.
struct TestResponse {
    let status: Int
    let headers: [String: String]   // lower-cased names
    let body: [UInt8]

    var json: [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any]) ?? [:]
    }
    var apiStatus: String { json["status"] as? String ?? "" }
}

struct TestClient {
    let port: Int
    var user: String?
    var key: String?

    func get(_ path: String) throws -> TestResponse { try send("GET", path, body: nil) }

    func post(_ path: String, _ form: [(String, String)] = []) throws -> TestResponse {
        let body = form.map { "\(encode($0.0))=\(encode($0.1))" }.joined(separator: "&")
        return try send("POST", path, body: Array(body.utf8), contentType: "application/x-www-form-urlencoded")
    }

    func send(_ method: String, _ path: String, body: [UInt8]?, contentType: String? = nil,
              extraHeaders: [String] = []) throws -> TestResponse {
        var head = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        if let user, let key {
            head += "Authorization: Basic \(Data("\(user):\(key)".utf8).base64EncodedString())\r\n"
        }
        if let contentType { head += "Content-Type: \(contentType)\r\n" }
        for header in extraHeaders { head += header + "\r\n" }
        head += "Content-Length: \(body?.count ?? 0)\r\n\r\n"
        return try TestClient.exchange(port: port, Array(head.utf8) + (body ?? []))
    }

    /// Sends raw bytes and reads until the server closes the connection.
    static func exchange(port: Int, _ bytes: [UInt8]) throws -> TestResponse {
        let raw = try rawExchange(port: port, bytes)
        guard let split = raw.firstRange(of: Array("\r\n\r\n".utf8)) else { throw TestClientError("no response head") }
        let headText = String(decoding: raw[..<split.lowerBound], as: UTF8.self)
        let lines = headText.components(separatedBy: "\r\n")
        guard let status = lines.first.flatMap({ $0.split(separator: " ").dropFirst().first }).flatMap({ Int($0) }) else {
            throw TestClientError("bad status line")
        }
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            if let colon = line.firstIndex(of: ":") {
                headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
        }
        return TestResponse(status: status, headers: headers, body: Array(raw[split.upperBound...]))
    }

    static func rawExchange(port: Int, _ bytes: [UInt8]) throws -> [UInt8] {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestClientError("socket failed") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw TestClientError("connect failed: errno \(errno)") }
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw TestClientError("send failed") }
            sent += n
        }
        var response: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n <= 0 { break }
            response += buffer[0..<n]
        }
        return response
    }

    private func encode(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }
}

struct TestClientError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

import Foundation
import HeraHTTP

/// A response with its JSON body decoded.
struct TestResponse {
    let status: Int
    let headers: HTTPHeaders
    let body: [UInt8]

    var json: [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any]) ?? [:]
    }
    var apiStatus: String { json["status"] as? String ?? "" }
    var text: String { String(decoding: body, as: UTF8.self) }
}

/// Talks to a gateway as one account: a fresh connection per request, so it is safe to share across threads.
struct TestClient: Sendable {
    let port: Int
    var user: String?
    var key: String?

    func get(_ path: String) throws -> TestResponse { try send("GET", path) }

    func post(_ path: String, _ form: [(String, String)] = []) throws -> TestResponse {
        let body = form.map { "\(TestClient.encode($0.0))=\(TestClient.encode($0.1))" }.joined(separator: "&")
        return try send("POST", path, body: Array(body.utf8), contentType: "application/x-www-form-urlencoded")
    }

    func send(_ method: String, _ path: String, body: [UInt8] = [], contentType: String? = nil,
              extraHeaders: [(String, String)] = []) throws -> TestResponse {
        var headers = HTTPHeaders(extraHeaders.map { (name: $0.0, value: $0.1) })
        if let user, let key {
            headers.add("Authorization", "Basic " + Data("\(user):\(key)".utf8).base64EncodedString())
        }
        if let contentType { headers.add("Content-Type", contentType) }
        let client = HTTPClient(port: port)
        defer { client.close() }
        let response = try client.send(method, path, headers: headers, body: body)
        return TestResponse(status: response.status, headers: response.headers, body: response.body)
    }

    static func encode(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }
}

struct TestClientError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

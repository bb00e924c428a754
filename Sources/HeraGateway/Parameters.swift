import Foundation
import HeraHTTP
import HeraSupport

/// A request's parameters: the query string, plus the body as a form (application/x-www-form-urlencoded)
/// or a JSON object. Every value is kept as text; JSON arrays and objects as their JSON text.
/// A key given twice is an error (there is no way to know which one was meant).
/// An `application/octet-stream` body is not parsed: it is kept as `rawBody` (stdin, an archive)
/// and the parameters come from the query string alone.
struct Parameters {
    private(set) var values: [String: String] = [:]
    private(set) var rawBody: [UInt8]?

    init(_ request: HTTPRequest) throws {
        try addForm(request.query, from: "query string")
        guard !request.body.isEmpty else { return }
        let contentType = (request.headers["Content-Type"] ?? "").lowercased()
        let mediaType = contentType.split(separator: ";", maxSplits: 1).first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
        if mediaType == "application/octet-stream" {
            rawBody = request.body
        } else if mediaType == "application/json" {
            try addJSON(request.body)
        } else if mediaType.isEmpty || mediaType == "application/x-www-form-urlencoded" {
            guard let text = String(validating: request.body, as: UTF8.self) else {
                throw APIError.malformed("the body is not valid UTF-8")
            }
            try addForm(text, from: "body")
        } else {
            throw APIError("MalformedRequest", 415, "unsupported Content-Type \(contentType); use application/x-www-form-urlencoded, application/json or application/octet-stream")
        }
    }

    subscript(_ key: String) -> String? { values[key] }

    private mutating func set(_ key: String, _ value: String) throws {
        guard !key.utf8.contains(0), !value.utf8.contains(0) else {
            throw APIError.malformed("parameter \(key.utf8.contains(0) ? "names" : key) must not contain NUL bytes")
        }
        guard values[key] == nil else { throw APIError.malformed("parameter \(key) is given twice") }
        values[key] = value
    }

    private mutating func addForm(_ text: String, from place: String) throws {
        for pair in text.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = try Parameters.formDecode(parts[0], field: String(parts[0]))
            let value = parts.count > 1 ? try Parameters.formDecode(parts[1], field: key) : ""
            try set(key, value)
        }
    }

    private mutating func addJSON(_ body: [UInt8]) throws {
        guard let object = try? JSONDecoder().decode([String: JSONValue].self, from: Data(body)) else {
            throw APIError.malformed("the body is not a JSON object")
        }
        if let duplicate = JSONKeys.firstDuplicateTopLevelKey(body) {
            throw APIError.malformed("parameter \(duplicate) is given twice")
        }
        for (key, value) in object {
            if let text = value.parameterText { try set(key, text) }
        }
    }

    /// Form decoding: `+` is a space, `%XX` a byte; a bad or truncated escape, or bytes that are
    /// not UTF-8, are an error naming the field — never a silent change.
    static func formDecode(_ text: Substring, field: String) throws -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            switch byte {
            case UInt8(ascii: "+"): bytes.append(UInt8(ascii: " "))
            case UInt8(ascii: "%"):
                guard let high = iterator.next().flatMap(Hex.value), let low = iterator.next().flatMap(Hex.value) else {
                    throw APIError.malformed("parameter \(field) has a bad percent-escape")
                }
                bytes.append(high << 4 | low)
            default: bytes.append(byte)
            }
        }
        guard let decoded = String(validating: bytes, as: UTF8.self) else {
            throw APIError.malformed("parameter \(field) is not valid UTF-8 once decoded")
        }
        return decoded
    }

    /// Linux refuses argument lists much beyond this; refuse them here with a clear message.
    static let maxCommandBytes = 256 << 10
    static let maxArguments = 4096

    static func checkCommandSize(_ arguments: [String]) throws {
        guard arguments.count <= maxArguments else { throw APIError.malformed("at most \(maxArguments) arguments") }
        guard arguments.reduce(0, { $0 + $1.utf8.count + 1 }) <= maxCommandBytes else {
            throw APIError.malformed("the command is longer than \(maxCommandBytes / 1024) KiB")
        }
    }

    // MARK: Typed access

    func bool(_ key: String, default value: Bool) throws -> Bool {
        guard let text = values[key] else { return value }
        switch text.lowercased() {
        case "true", "1", "yes": return true
        case "false", "0", "no": return false
        default: throw APIError.malformed("\(key) must be true or false")
        }
    }

    func integer(_ key: String, in range: ClosedRange<Int>, what: String) throws -> Int? {
        guard let text = values[key] else { return nil }
        guard let number = Int(text) else { throw APIError.malformed("\(key) must be an integer (\(what))") }
        guard range.contains(number) else {
            throw APIError.malformed("\(key) must be between \(range.lowerBound) and \(range.upperBound) (\(what))")
        }
        return number
    }

    /// A JSON object of strings (`env`, `labels`); nil when absent.
    func stringMap(_ key: String) throws -> [String: String]? {
        guard let text = values[key] else { return nil }
        guard let map = try? JSONDecoder().decode([String: String].self, from: Data(text.utf8)) else {
            throw APIError.malformed("\(key) must be a JSON object of strings")
        }
        return map
    }

    func required(_ key: String) throws -> String {
        guard let value = values[key], !value.isEmpty else { throw APIError.malformed("\(key) is required") }
        return value
    }

    /// A command: `args` as a JSON array of strings, or `command` run by `/bin/sh -c`.
    func command() throws -> [String] {
        if let args = values["args"] {
            guard values["command"] == nil else { throw APIError.malformed("give args or command, not both") }
            guard let strings = try? JSONDecoder().decode([String].self, from: Data(args.utf8)), !strings.isEmpty else {
                throw APIError.malformed("args must be a non-empty JSON array of strings")
            }
            guard !strings[0].isEmpty else { throw APIError.malformed("args[0], the program, must not be empty") }
            try Parameters.checkCommandSize(strings)
            return strings
        }
        if let command = values["command"] {
            try Parameters.checkCommandSize([command])
            return ["/bin/sh", "-c", command]
        }
        throw APIError.malformed("args or command is required")
    }
}

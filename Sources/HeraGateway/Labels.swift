import Foundation

/// A sandbox's labels: a small map the client tags it with (`labels` on create, `label=key:value` on list).
enum Labels {
    static let maxCount = 16
    static let maxKeyBytes = 64
    static let maxValueBytes = 256

    /// Checks labels as the client gave them; returns them as JSON text for the database.
    static func checked(_ labels: [String: String]) throws -> String {
        guard labels.count <= maxCount else { throw APIError.malformed("at most \(maxCount) labels") }
        for (key, value) in labels {
            try checkKey(key)
            guard value.utf8.count <= maxValueBytes, !value.utf8.contains(0) else {
                throw APIError.malformed("label \(key): the value must be at most \(maxValueBytes) bytes, without NUL")
            }
        }
        return String(decoding: try JSONEncoder().encode(labels), as: UTF8.self)
    }

    /// `key:value` (the value may contain ':') as the JSON object a sandbox's labels must contain.
    static func filter(_ text: String) throws -> String {
        let parts = text.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2 else { throw APIError.malformed("label must be key:value") }
        return try checked([String(parts[0]): String(parts[1])])
    }

    private static func checkKey(_ key: String) throws {
        let allowed = key.utf8.allSatisfy { byte in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
                || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "-")
        }
        guard (1...maxKeyBytes).contains(key.utf8.count), allowed else {
            throw APIError.malformed("label key \(key) must be 1-\(maxKeyBytes) of a-z, 0-9, _, . and -")
        }
    }
}

import CLibPQ
import HeraSupport

/// The rows of one statement, in libpq's text format, copied out so the PGresult can be freed at once.
public struct PGResult: Sendable {
    public let columns: [String]
    /// Each column's type OID (16 is boolean), for printing values as their type reads.
    public let columnTypes: [UInt32]
    public let rows: [PGRow]
    public let affectedRows: Int

    init(_ result: OpaquePointer) {
        defer { PQclear(result) }
        let columnCount = Int(PQnfields(result))
        let names = (0..<columnCount).map { String(cString: PQfname(result, Int32($0))) }
        var index: [String: Int] = [:]
        for (i, name) in names.enumerated() where index[name] == nil { index[name] = i }
        columns = names
        columnTypes = (0..<columnCount).map { UInt32(PQftype(result, Int32($0))) }
        rows = (0..<Int(PQntuples(result))).map { row in
            PGRow(index: index, values: (0..<columnCount).map { column in
                PQgetisnull(result, Int32(row), Int32(column)) == 1
                    ? nil : String(cString: PQgetvalue(result, Int32(row), Int32(column)))
            })
        }
        affectedRows = Int(String(cString: PQcmdTuples(result))) ?? 0
    }

    public var first: PGRow? { rows.first }
}

/// One row; values by column name, nil for SQL NULL.
public struct PGRow: Sendable {
    let index: [String: Int]
    public let values: [String?]

    public subscript(_ column: String) -> String? {
        guard let i = index[column] else { return nil }
        return values[i]
    }

    public func int(_ column: String) -> Int? { self[column].flatMap { Int($0) } }
    public func double(_ column: String) -> Double? { self[column].flatMap { Double($0) } }
    public func bool(_ column: String) -> Bool? { self[column].map { $0 == "t" } }

    /// A bytea column (hex output format, `\x…`).
    public func bytes(_ column: String) -> [UInt8]? {
        guard let text = self[column] else { return nil }
        return PGRow.decodeBytea(text)
    }

    static func decodeBytea(_ text: String) -> [UInt8]? {
        let utf8 = Array(text.utf8)
        guard utf8.count >= 2, utf8[0] == UInt8(ascii: "\\"), utf8[1] == UInt8(ascii: "x"), utf8.count % 2 == 0 else { return nil }
        var out = [UInt8]()
        out.reserveCapacity((utf8.count - 2) / 2)
        var i = 2
        while i < utf8.count {
            guard let high = Hex.value(utf8[i]), let low = Hex.value(utf8[i + 1]) else { return nil }
            out.append(high << 4 | low)
            i += 2
        }
        return out
    }
}

/// Encodes bytes as a bytea text parameter (hex format).
public func byteaParameter(_ bytes: [UInt8]) -> String {
    "\\x" + Hex.encode(bytes)
}

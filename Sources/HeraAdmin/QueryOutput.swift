import Foundation
import HeraDB
import HeraSupport

/// How listings and reports are printed: `--format table|csv|json` (table when absent).
enum OutputFormat: String, CaseIterable {
    case table, csv, json

    static func from(_ settings: Settings) throws -> OutputFormat {
        let text = settings.string("format", default: "table")
        guard let format = OutputFormat(rawValue: text) else {
            throw UsageError("--format must be table, csv or json, got '\(text)'")
        }
        return format
    }
}

/// Runs a query and renders its rows: an aligned table (or `column: value` lines for one
/// record), CSV with a header line, or a JSON array of objects built by PostgreSQL itself
/// (so numbers, booleans and nulls keep their types).
enum QueryOutput {
    static let booleanType: UInt32 = 16

    static func render(_ connection: PGConnection, _ sql: String, _ parameters: [String?],
                       as format: OutputFormat, oneRecord: Bool = false) throws -> String {
        if format == .json {
            let row = try connection.query("SELECT coalesce(json_agg(q), '[]'::json) AS rows FROM (\(sql)) AS q", parameters).first
            return row?["rows"] ?? "[]"
        }
        let result = try connection.query(sql, parameters)
        switch format {
        case .csv: return csv(result)
        case .table where oneRecord: return record(result)
        default: return table(result)
        }
    }

    static func table(_ result: PGResult) -> String {
        let cells = [result.columns] + result.rows.map { displayed($0, result) }
        let widths = result.columns.indices.map { column in cells.map { $0[column].count }.max() ?? 0 }
        return cells.map { row in
            row.enumerated().map { $1.padding(toLength: widths[$0], withPad: " ", startingAt: 0) }
                .joined(separator: "  ").trimmingTrailingSpaces()
        }.joined(separator: "\n")
    }

    static func record(_ result: PGResult) -> String {
        let width = result.columns.map(\.count).max() ?? 0
        return result.rows.map { row in
            zip(result.columns, displayed(row, result)).map { name, value in
                (name + ":").padding(toLength: width + 2, withPad: " ", startingAt: 0) + value
            }.joined(separator: "\n")
        }.joined(separator: "\n\n")
    }

    static func csv(_ result: PGResult) -> String {
        func field(_ text: String?) -> String {
            guard let text else { return "" }
            guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return text }
            return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
        }
        let lines = [result.columns.map(field).joined(separator: ",")]
            + result.rows.map { row in zip(row.values, result.columnTypes).map { field(boolean($0, $1)) }.joined(separator: ",") }
        return lines.joined(separator: "\n")
    }

    /// A row's values as the table shows them: "-" for NULL, true/false for booleans.
    private static func displayed(_ row: PGRow, _ result: PGResult) -> [String] {
        zip(row.values, result.columnTypes).map { boolean($0, $1) ?? "-" }
    }

    private static func boolean(_ value: String?, _ type: UInt32) -> String? {
        guard type == booleanType, let value else { return value }
        return value == "t" ? "true" : "false"
    }
}

private extension String {
    func trimmingTrailingSpaces() -> String {
        var text = Substring(self)
        while text.last == " " { text = text.dropLast() }
        return String(text)
    }
}

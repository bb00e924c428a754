import Foundation

/// Command-line flags with environment-variable equivalents: `--memory-mb 512` or `HERA_MEMORY_MB=512`.
/// A flag given on the command line wins over the environment.
public struct Settings {
    private var flags: [String: String] = [:]
    public private(set) var positional: [String] = []
    private let environment: [String: String]

    public init(arguments: [String], environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        self.environment = environment
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            if argument.hasPrefix("--") {
                let body = String(argument.dropFirst(2))
                if let equals = body.firstIndex(of: "=") {
                    flags[String(body[..<equals])] = String(body[body.index(after: equals)...])
                } else if index + 1 < arguments.count, !arguments[index + 1].hasPrefix("--") {
                    flags[body] = arguments[index + 1]
                    index += 1
                } else {
                    flags[body] = "true"
                }
            } else {
                positional.append(argument)
            }
            index += 1
        }
    }

    /// The environment variable that stands for `flag`: `memory-mb` → `HERA_MEMORY_MB`.
    public static func environmentName(_ flag: String) -> String {
        "HERA_" + flag.uppercased().replacingOccurrences(of: "-", with: "_")
    }

    public func has(_ flag: String) -> Bool { string(flag) != nil }

    public func string(_ flag: String) -> String? {
        flags[flag] ?? environment[Settings.environmentName(flag)]
    }

    public func string(_ flag: String, default value: String) -> String { string(flag) ?? value }

    public func int(_ flag: String, default value: Int) throws -> Int {
        guard let text = string(flag) else { return value }
        guard let number = Int(text) else { throw UsageError("--\(flag) must be an integer, got '\(text)'") }
        return number
    }

    public func double(_ flag: String, default value: Double) throws -> Double {
        guard let text = string(flag) else { return value }
        guard let number = Double(text), number.isFinite else { throw UsageError("--\(flag) must be a number, got '\(text)'") }
        return number
    }

    public func bool(_ flag: String) -> Bool {
        guard let text = string(flag)?.lowercased() else { return false }
        return ["1", "true", "yes"].contains(text)
    }

    /// The PostgreSQL connection string: `--database-url`, `HERA_DATABASE_URL`, or "" (libpq then uses the PG* variables).
    public var databaseURL: String { string("database-url") ?? "" }
}

/// A mistake on the command line: printed as one line, exit status 2.
public struct UsageError: Error, CustomStringConvertible {
    public let description: String
    public init(_ message: String) { description = message }
}

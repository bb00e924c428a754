import HeraDB
import HeraSupport

/// One operator verb, `hera GROUP NAME OPERANDS [flags]`: its usage line, its help and its action.
struct Verb: Sendable {
    let group: String
    let name: String
    let operands: String
    let summary: String
    let run: @Sendable (Invocation) throws -> Void

    var usage: String { "hera \(group) \(name) \(operands)" }

    var help: String {
        """
        usage: \(usage)

        \(summary)

        The database is --database-url / HERA_DATABASE_URL (a libpq connection string), else the PG* variables.
        """
    }
}

/// A verb as it was called: its operands (the words after GROUP NAME), its flags and its database.
struct Invocation {
    let verb: Verb
    let settings: Settings

    /// Exactly `count` operands, else the usage line as the error.
    func operands(_ count: Int) throws -> [String] {
        let words = Array(settings.positional.dropFirst(2))
        guard words.count == count else { throw UsageError("usage: \(verb.usage)") }
        return words
    }

    func connect() throws -> PGConnection { try PGConnection(settings.databaseURL) }

    func format() throws -> OutputFormat { try OutputFormat.from(settings) }
}

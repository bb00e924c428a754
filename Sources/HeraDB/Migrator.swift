import Foundation

/// Applies the numbered migrations of a directory (`001_name.sql`, `002_name.sql`, …), each in one
/// transaction together with its version row. Refuses gaps and duplicate numbers. Two hosts
/// migrating at once are serialised by an advisory lock, so each migration runs exactly once.
public struct Migrator {
    public struct Migration: Equatable {
        public let version: Int
        public let name: String
        public let path: String
    }

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// Any fixed number; it only has to be the same for every Hera process.
    static let lockKey = "4801000001"

    public let directory: String

    public init(directory: String) { self.directory = directory }

    /// The migrations on disk, in order. Throws on a gap, a duplicate, or a badly named file.
    public func migrations() throws -> [Migration] {
        let files = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".sql") }
        var found: [Migration] = []
        for file in files {
            let digits = file.prefix { $0.isNumber }
            guard !digits.isEmpty, let version = Int(digits), file.dropFirst(digits.count).hasPrefix("_") else {
                throw Failure(description: "migration file \(file) must be named NNN_name.sql")
            }
            found.append(Migration(version: version, name: String(file.dropLast(4)), path: directory + "/" + file))
        }
        found.sort { $0.version < $1.version }
        for (index, migration) in found.enumerated() where migration.version != index + 1 {
            if index > 0 && found[index - 1].version == migration.version {
                throw Failure(description: "two migrations have number \(migration.version)")
            }
            throw Failure(description: "migration \(index + 1) is missing (found \(migration.name) instead)")
        }
        return found
    }

    /// Applies what is not yet applied. Returns the names applied by this call.
    @discardableResult
    public func migrate(_ connection: PGConnection) throws -> [String] {
        let all = try migrations()
        try connection.query("SELECT pg_advisory_lock($1)", [Migrator.lockKey])
        defer { _ = try? connection.query("SELECT pg_advisory_unlock($1)", [Migrator.lockKey]) }
        try connection.execute("""
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())
            """)
        let applied = try connection.query("SELECT version, name FROM schema_migrations ORDER BY version").rows
        for (index, row) in applied.enumerated() {
            guard index < all.count, row.int("version") == all[index].version, row["name"] == all[index].name else {
                throw Failure(description: "the database has migration \(row["name"] ?? "?") that is not in \(directory)")
            }
        }
        var done: [String] = []
        for migration in all.dropFirst(applied.count) {
            let sql = try String(contentsOfFile: migration.path, encoding: .utf8)
            try connection.execute("BEGIN")
            do {
                try connection.execute(sql)
                try connection.query("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                                     [String(migration.version), migration.name])
                try connection.execute("COMMIT")
            } catch {
                _ = try? connection.execute("ROLLBACK")
                throw Failure(description: "migration \(migration.name) failed: \(error)")
            }
            done.append(migration.name)
        }
        return done
    }
}

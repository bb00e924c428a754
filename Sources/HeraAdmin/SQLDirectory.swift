import Foundation
import HeraSupport

/// Where the migrations are: --sql-dir / HERA_SQL_DIR, else next to an installed binary
/// (`<prefix>/share/hera/sql`), else the repository the binary was built in (`.build/<config>/hera`).
enum SQLDirectory {
    static func find(_ settings: Settings) throws -> String {
        if let directory = settings.string("sql-dir") { return directory }
        let executable = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        let binDirectory = executable.deletingLastPathComponent()
        let candidates = [
            binDirectory.appendingPathComponent("../share/hera/sql"),
            binDirectory.appendingPathComponent("../../../sql"),   // .build/x86_64-unknown-linux-gnu/debug/hera
            binDirectory.appendingPathComponent("../../sql"),      // .build/debug/hera
            URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent("sql"),
        ]
        for candidate in candidates where FileManager.default.fileExists(atPath: candidate.path + "/001_schema.sql") {
            return candidate.standardizedFileURL.path
        }
        throw UsageError("cannot find the sql/ directory; give --sql-dir")
    }
}

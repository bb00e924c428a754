import Foundation
import HeraAdmin
import HeraDB
import XCTest

/// One private PostgreSQL for the whole test process, in $HERA_TEST_DIR (the test script makes
/// it and stops the server afterwards) or a fresh temporary folder. Each test starts from empty tables.
enum TestDatabase {
    nonisolated(unsafe) private static var server: LocalPostgres?
    private static let lock = NSLock()

    static let sqlDirectory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("sql").path

    /// The connection string of a migrated, emptied database.
    static func fresh() throws -> String {
        let url = try start()
        let connection = try PGConnection(url)
        try connection.execute("TRUNCATE accounts, templates, nodes, sandboxes, execs, prices RESTART IDENTITY CASCADE")
        return url
    }

    private static func start() throws -> String {
        lock.lock()
        defer { lock.unlock() }
        if let server { return server.url }
        let postgres = try LocalPostgres(directory: TestCluster.testDirectory + "/postgres", port: nil)
        try postgres.start(durable: false)
        atexit { TestDatabase.stop() }
        server = postgres
        try Migrator(directory: sqlDirectory).migrate(PGConnection(postgres.url))
        return postgres.url
    }

    private static func stop() {
        server?.stop()
    }
}

/// Fails the test loudly when it cannot run as it must (root, cgroups, the hera binary), never skips.
func requireRoot(file: StaticString = #filePath, line: UInt = #line) {
    if getuid() != 0 { XCTFail("this test needs root (cgroups, namespaces); run the README's test command as root", file: file, line: line) }
}

/// The built `hera` executable, which is also the sandbox launcher. The test script sets HERA_BIN.
func heraBinary() throws -> String {
    guard let path = ProcessInfo.processInfo.environment["HERA_BIN"], FileManager.default.isExecutableFile(atPath: path) else {
        throw TestSetupError("HERA_BIN must name the built hera executable (the test script sets it)")
    }
    return path
}

struct TestSetupError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

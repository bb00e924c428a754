import Foundation
import HeraSupport

/// A private PostgreSQL server in a folder of its own, for `hera dev` and the tests: initdb on
/// first use, listening on a unix socket in that folder (and on 127.0.0.1 when a port is given),
/// run as the unprivileged `postgres` user when started by root (PostgreSQL refuses root).
public final class LocalPostgres: @unchecked Sendable {
    public let directory: String
    public let port: Int?
    public let database = "hera"
    let binDirectory: String
    let runAs: String?

    public var dataDirectory: String { directory + "/data" }
    public var socketDirectory: String { directory + "/socket" }

    /// A libpq connection string for the `hera` database.
    public var url: String {
        if let port { return "postgresql://postgres@127.0.0.1:\(port)/\(database)" }
        return "host=\(socketDirectory) port=5432 user=postgres dbname=\(database)"
    }

    /// - Parameters:
    ///   - durable: false turns off fsync, for throwaway test databases.
    public init(directory: String, port: Int?) throws {
        self.directory = directory
        self.port = port
        binDirectory = try LocalPostgres.findBinDirectory()
        runAs = getuid() == 0 ? "postgres" : nil
        if runAs != nil && getpwnam("postgres") == nil {
            throw Command.Failure(description: "running as root needs the 'postgres' user (apt-get install postgresql)")
        }
    }

    /// Creates the cluster if needed, starts the server and creates the `hera` database.
    public func start(durable: Bool = true) throws {
        try FileManager.default.createDirectory(atPath: socketDirectory, withIntermediateDirectories: true)
        if let runAs { try Command.run(["/bin/chown", "-R", "\(runAs):", directory]) }
        if !FileManager.default.fileExists(atPath: dataDirectory + "/PG_VERSION") {
            try asServerUser([binDirectory + "/initdb", "-D", dataDirectory, "-U", "postgres", "-A", "trust",
                              "-E", "UTF8", "--no-sync"])
        }
        var options = "-k \(socketDirectory) -p \(port ?? 5432) -c listen_addresses=\(port == nil ? "''" : "127.0.0.1")"
            + " -c max_connections=300 -c shared_buffers=128MB"
        if !durable { options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off" }
        try asServerUser([binDirectory + "/pg_ctl", "-D", dataDirectory, "-l", directory + "/postgres.log",
                          "-w", "-t", "60", "-o", options, "start"])
        let exists = try asServerUser([binDirectory + "/psql", "-h", socketDirectory, "-p", String(port ?? 5432),
                                       "-U", "postgres", "-d", "postgres", "-tAc",
                                       "SELECT 1 FROM pg_database WHERE datname = 'hera'"])
        if !exists.contains("1") {
            try asServerUser([binDirectory + "/createdb", "-h", socketDirectory, "-p", String(port ?? 5432),
                              "-U", "postgres", database])
        }
    }

    public func stop() {
        _ = try? asServerUser([binDirectory + "/pg_ctl", "-D", dataDirectory, "-m", "fast", "-w", "stop"])
    }

    @discardableResult
    private func asServerUser(_ arguments: [String]) throws -> String {
        guard let runAs else { return try Command.run(arguments) }
        return try Command.run(["/usr/sbin/runuser", "-u", runAs, "--"] + arguments)
    }

    static func findBinDirectory() throws -> String {
        let root = "/usr/lib/postgresql"
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? [])
            .compactMap(Int.init).sorted()
        for version in versions.reversed() where FileManager.default.isExecutableFile(atPath: "\(root)/\(version)/bin/initdb") {
            return "\(root)/\(version)/bin"
        }
        throw Command.Failure(description: "no PostgreSQL server found under \(root) (apt-get install postgresql)")
    }
}

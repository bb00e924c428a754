import Foundation
import HeraDB
import HeraSupport

/// Migrations, and the account and template registration that `hera dev` and the tests share with the verbs.
public enum Admin {
    static let migrateHelp = "usage: hera migrate [--sql-dir DIR] [--database-url URL]\n\nApplies the SQL migrations in sql/, each in one transaction."

    static func migrate(_ settings: Settings) throws {
        let connection = try PGConnection(settings.databaseURL)
        let applied = try Migrator(directory: try SQLDirectory.find(settings)).migrate(connection)
        print(applied.isEmpty ? "database is up to date" : "applied " + applied.joined(separator: ", "))
    }

    /// Creates the account, or gives an existing one a new key when `replacingKey`; returns the key.
    public static func accountCreate(_ connection: PGConnection, name: String, parent: String? = nil,
                                     replacingKey: Bool = false) throws -> String {
        let key = APIKey.generate()
        let hash = byteaParameter(APIKey.hash(key))
        if let parent, try connection.query("SELECT 1 FROM accounts WHERE name = $1", [parent]).rows.isEmpty {
            throw UsageError("no account \(parent)")
        }
        let conflict = replacingKey ? "ON CONFLICT (name) DO UPDATE SET key_hash = EXCLUDED.key_hash" : ""
        do {
            try connection.query("""
                INSERT INTO accounts (name, key_hash, parent_id)
                VALUES ($1, $2, (SELECT id FROM accounts WHERE name = $3)) \(conflict)
                """, [name, hash, parent])
        } catch let error as PGError where error.sqlState == PGError.uniqueViolation {
            throw UsageError("account \(name) already exists")
        } catch let error as PGError where error.sqlState == PGError.checkViolation {
            throw UsageError("an account name is 1-64 letters, digits, '_', '.' or '-', starting with a letter or digit")
        }
        return key
    }

    /// Registers a template, or updates the one of that name and owner; returns its id.
    public static func templateAdd(_ connection: PGConnection, name: String, rootfs: String, owner: String? = nil,
                                   isPublic: Bool, minMemoryMB: Int) throws -> Int {
        guard rootfs.hasPrefix("/") else { throw UsageError("--rootfs must be an absolute path") }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: rootfs, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw UsageError("\(rootfs) is not a directory on this machine (it must exist on every node)")
        }
        if let owner, try connection.query("SELECT 1 FROM accounts WHERE name = $1", [owner]).rows.isEmpty {
            throw UsageError("no account \(owner)")
        }
        // Sandboxes running from its current directory would lose their files to `template prune`.
        if let live = try connection.query("""
            SELECT count(s.id) AS n FROM templates t JOIN sandboxes s ON s.template_id = t.id AND s.state <> 'finished'
            WHERE t.name = $1 AND t.owner_id IS NOT DISTINCT FROM (SELECT id FROM accounts WHERE name = $2) AND t.rootfs <> $3
            """, [name, owner, rootfs]).first?.int("n"), live > 0 {
            throw UsageError("template \(name) has \(live) live sandboxes on its current directory; change it when they have finished")
        }
        do {
            let row = try connection.query("""
                INSERT INTO templates (owner_id, name, rootfs, public, min_memory_mb)
                VALUES ((SELECT id FROM accounts WHERE name = $1), $2, $3, $4, $5)
                ON CONFLICT (owner_id, name) DO UPDATE SET rootfs = EXCLUDED.rootfs, public = EXCLUDED.public,
                    min_memory_mb = EXCLUDED.min_memory_mb, state = 'ready'
                RETURNING id
                """, [owner, name, rootfs, isPublic ? "t" : "f", String(minMemoryMB)]).first
            let id = row?.int("id") ?? 0
            // Its path may have changed: which nodes hold it is known again once they have looked.
            try connection.query("DELETE FROM template_nodes WHERE template_id = $1", [String(id)])
            try awaitNodesHolding(connection, template: id)
            return id
        } catch let error as PGError where error.sqlState == PGError.checkViolation {
            throw UsageError("a template name is 1-64 letters, digits, '_', '.' or '-', not all digits; --min-memory-mb must be positive")
        }
    }

    /// Registers a template that is not there yet (`creating`: placed nowhere, and its directory
    /// safe from `template prune`); refused if one of that name and owner exists. Returns its id.
    public static func templateReserve(_ connection: PGConnection, name: String, rootfs: String, owner: String?,
                                       isPublic: Bool, minMemoryMB: Int) throws -> Int {
        do {
            guard let id = try connection.query("""
                INSERT INTO templates (owner_id, name, rootfs, public, min_memory_mb, state)
                VALUES ((SELECT id FROM accounts WHERE name = $1), $2, $3, $4, $5, 'creating') RETURNING id
                """, [owner, name, rootfs, isPublic ? "t" : "f", String(minMemoryMB)]).first?.int("id") else {
                throw UsageError("the template could not be registered")
            }
            return id
        } catch let error as PGError where error.sqlState == PGError.uniqueViolation {
            throw UsageError("template \(owner.map { $0 + "/" } ?? "")\(name) exists; remove it first, or choose another --name")
        }
    }

    /// Its directory is complete: the template is ready, and the nodes look for it.
    public static func templateReady(_ connection: PGConnection, template id: Int) throws {
        try connection.query("UPDATE templates SET state = 'ready' WHERE id = $1", [String(id)])
        try awaitNodesHolding(connection, template: id)
    }

    /// Asks the live nodes to look for their templates again, and waits (up to 5 s) until one of
    /// them reports holding this one.
    private static func awaitNodesHolding(_ connection: PGConnection, template id: Int) throws {
        let live = try connection.query("""
            SELECT pg_notify('hera_node_' || id, 'templates') FROM nodes WHERE heartbeat_at > now() - node_heartbeat_bound()
            """).rows.count
        let deadline = Date(timeIntervalSinceNow: live > 0 ? 5 : 0)
        while try templateHolders(connection, template: id).isEmpty && Date() < deadline { usleep(20_000) }
    }

    /// The names of the nodes that hold a template.
    public static func templateHolders(_ connection: PGConnection, template id: Int) throws -> [String] {
        try connection.query("""
            SELECT n.name FROM template_nodes tn JOIN nodes n ON n.id = tn.node_id WHERE tn.template_id = $1 ORDER BY n.name
            """, [String(id)]).rows.compactMap { $0["name"] }
    }
}

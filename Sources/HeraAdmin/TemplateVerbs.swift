import Foundation
import HeraDB
import HeraNode
import HeraSandbox
import HeraSupport

/// `hera template …`: root filesystems registered for sandboxes. A template is named by NAME and
/// --owner ACCOUNT; without --owner, the system template of that name.
enum TemplateVerbs {
    static let all = [add, importRootfs, list, remove, prune, setPublic, setMinMemory, buildDefault]

    static let add = Verb(group: "template", name: "add",
                          operands: "NAME --rootfs DIR [--owner ACCOUNT] [--public] [--min-memory-mb N]",
                          summary: "Registers (or updates) a template: a root filesystem directory that exists on every node. Prints its id.") { call in
        let name = try call.operands(1)[0]
        guard let rootfs = call.settings.string("rootfs") else { throw UsageError("usage: \(call.verb.usage)") }
        print(try register(call, name: name, rootfs: rootfs))
    }

    static let importRootfs = Verb(group: "template", name: "import",
                                   operands: "DIR|TARBALL [--name NAME] [--owner ACCOUNT] [--public] [--min-memory-mb N] [--template-dir DIR] [--max-size-mb N]",
                                   summary: """
                                       Copies a root filesystem (a directory, or a tar archive: plain, gz, xz or bz2) into this \
                                       machine's template store (default /var/lib/hera/templates, as the node's), gives its files to \
                                       the sandbox user and registers it; the name defaults to the source's name without extensions. \
                                       An archive may hold at most --max-size-mb (default 16384). Prints its id.
                                       """) { call in
        print(try TemplateImport.run(call, source: try call.operands(1)[0]))
    }

    /// "debian-12.tar.gz" -> "debian-12"; "/srv/rootfs/" -> "rootfs".
    static func defaultName(_ source: String) -> String {
        var name = URL(fileURLWithPath: source).lastPathComponent
        for suffix in [".tar.gz", ".tar.xz", ".tar.bz2", ".tgz", ".txz", ".tbz2", ".tar"] where name.hasSuffix(suffix) {
            name = String(name.dropLast(suffix.count))
            break
        }
        return name
    }

    static let list = Verb(group: "template", name: "list", operands: "[--owner ACCOUNT] [--format table|csv|json]",
                           summary: "Every template (or one account's): id, owner, name, state, public, minimum memory, root filesystem, the nodes holding it, live sandboxes.") { call in
        _ = try call.operands(0)
        let connection = try call.connect()
        let owner = call.settings.string("owner")
        if let owner { try AccountVerbs.requireAccount(connection, owner) }
        print(try QueryOutput.render(connection, """
            SELECT t.id, o.name AS owner, t.name, t.state, t.public, t.min_memory_mb, t.rootfs,
                   (SELECT string_agg(n.name, ',' ORDER BY n.name) FROM template_nodes tn JOIN nodes n ON n.id = tn.node_id
                    WHERE tn.template_id = t.id) AS nodes,
                   (SELECT count(*) FROM sandboxes s WHERE s.template_id = t.id AND s.state <> 'finished') AS live_sandboxes
            FROM templates t LEFT JOIN accounts o ON o.id = t.owner_id
            WHERE $1::text IS NULL OR o.name = $1
            ORDER BY o.name NULLS FIRST, t.name
            """, [owner], as: call.format()))
    }

    static let remove = Verb(group: "template", name: "remove", operands: "NAME [--owner ACCOUNT]",
                             summary: "Deletes a template no sandbox has used; refused while sandboxes use it or past ones refer to it.") { call in
        let name = try call.operands(1)[0]
        let connection = try call.connect()
        let id = try templateID(call, connection, name)
        let label = templateLabel(call, name)
        let live = try connection.query("SELECT count(*) AS n FROM sandboxes WHERE template_id = $1 AND state <> 'finished'",
                                        [String(id)]).first?.int("n") ?? 0
        guard live == 0 else { throw UsageError("template \(label) is in use by \(live) live sandboxes; remove it when they have finished") }
        do {
            try connection.query("DELETE FROM templates WHERE id = $1", [String(id)])
        } catch let error as PGError where error.sqlState == PGError.foreignKeyViolation {
            throw UsageError("template \(label) is kept: finished sandboxes and their usage refer to it; "
                             + "`hera template set-public \(name) false` stops others from using it")
        }
        print("template \(label) removed")
    }

    static let prune = Verb(group: "template", name: "prune", operands: "[--template-dir DIR] [--dry-run]",
                            summary: """
                                Deletes the directories of this machine's template store that no template uses \
                                (left by `template remove`); run it on each node. Prints each one.
                                """) { call in
        _ = try call.operands(0)
        let store: TemplateStore
        do { store = try TemplateStore(existing: call.settings.string("template-dir", default: NodeConfig.defaultTemplateDirectory)) } catch {
            throw UsageError("\(error)")
        }
        // A save writes <store>/<template id> before the template has its path.
        let rows = try call.connect().query("SELECT id, rootfs FROM templates").rows
        let used = Set(rows.compactMap { $0["rootfs"] } + rows.compactMap { $0["id"] }.map { store.directory + "/" + $0 })
        for directory in try store.unused(by: used) {
            if !call.settings.bool("dry-run") { try store.remove(directory) }
            print(directory)
        }
    }

    static let setPublic = Verb(group: "template", name: "set-public", operands: "NAME true|false [--owner ACCOUNT]",
                                summary: "Makes a template usable by every account (true) or by its owner only (false).") { call in
        let words = try call.operands(2)
        guard let isPublic = ["true": true, "false": false][words[1].lowercased()] else { throw UsageError("usage: \(call.verb.usage)") }
        try update(call, name: words[0], set: "public = $2", isPublic ? "t" : "f")
        print("template \(templateLabel(call, words[0])) is \(isPublic ? "public" : "private")")
    }

    static let setMinMemory = Verb(group: "template", name: "set-min-memory", operands: "NAME MB [--owner ACCOUNT]",
                                   summary: "Sets the least memory a sandbox of this template may ask for.") { call in
        let words = try call.operands(2)
        guard let megabytes = Int(words[1]), megabytes > 0, megabytes <= Int(Int32.max) else {
            throw UsageError("MB must be a whole number > 0, got '\(words[1])'")
        }
        try update(call, name: words[0], set: "min_memory_mb = $2", String(megabytes))
        print("template \(templateLabel(call, words[0])) needs at least \(megabytes) MB")
    }

    static let buildDefault = Verb(group: "template", name: "build-default", operands: "DIR",
                                   summary: "Builds the busybox root filesystem used by the default template (needs busybox-static).") { call in
        let directory = try call.operands(1)[0]
        try DefaultTemplate.build(at: directory)
        print(directory)
    }

    /// Registers the template and says on standard error which live nodes hold it.
    private static func register(_ call: Invocation, name: String, rootfs: String) throws -> Int {
        let connection = try call.connect()
        let id = try Admin.templateAdd(connection, name: name, rootfs: rootfs, owner: call.settings.string("owner"),
                                       isPublic: call.settings.bool("public"),
                                       minMemoryMB: try call.settings.int("min-memory-mb", default: 16))
        try reportHolders(call, connection, template: id, rootfs: rootfs)
        return id
    }

    /// Says on standard error which live nodes hold the template (and if no account can use it).
    static func reportHolders(_ call: Invocation, _ connection: PGConnection, template id: Int, rootfs: String) throws {
        let holders = try Admin.templateHolders(connection, template: id)
        if call.settings.string("owner") == nil && !call.settings.bool("public") {
            FileHandle.standardError.write(Data("warning: a system template that is not --public can be used by no account; see set-public\n".utf8))
        }
        FileHandle.standardError.write(Data((holders.isEmpty
            ? "warning: no live node holds \(rootfs) yet; sandboxes of this template are placed only on nodes where that directory exists\n"
            : "held by nodes: \(holders.joined(separator: ", "))\n").utf8))
    }

    private static func update(_ call: Invocation, name: String, set assignment: String, _ value: String) throws {
        let connection = try call.connect()
        let id = try templateID(call, connection, name)
        try connection.query("UPDATE templates SET \(assignment) WHERE id = $1", [String(id), value])
    }

    /// The id of NAME under --owner (or the system template NAME).
    private static func templateID(_ call: Invocation, _ connection: PGConnection, _ name: String) throws -> Int {
        let owner = call.settings.string("owner")
        if let owner { try AccountVerbs.requireAccount(connection, owner) }
        let row = try connection.query("""
            SELECT id FROM templates
            WHERE name = $1 AND owner_id IS NOT DISTINCT FROM (SELECT id FROM accounts WHERE name = $2)
            """, [name, owner]).first
        guard let id = row?.int("id") else { throw UsageError("no template \(templateLabel(call, name))") }
        return id
    }

    private static func templateLabel(_ call: Invocation, _ name: String) -> String {
        call.settings.string("owner").map { "\($0)/\(name)" } ?? name
    }
}

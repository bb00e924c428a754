import HeraDB
import HeraSupport

/// `hera account …`: accounts, their keys, parents and quotas.
enum AccountVerbs {
    static let all = [create, list, show, disable, enable, rotateKey, setParent, setQuota]

    static let create = Verb(group: "account", name: "create", operands: "NAME [--parent ACCOUNT]",
                             summary: "Creates an account; prints its API key alone on stdout (only its SHA-256 is stored).") { call in
        let name = try call.operands(1)[0]
        print(try Admin.accountCreate(call.connect(), name: name, parent: call.settings.string("parent")))
    }

    static let list = Verb(group: "account", name: "list", operands: "[--format table|csv|json]",
                           summary: "Every account: parent, disabled, quotas, live sandboxes and their memory.") { call in
        _ = try call.operands(0)
        print(try QueryOutput.render(call.connect(), overview + " ORDER BY a.name", [nil], as: call.format()))
    }

    static let show = Verb(group: "account", name: "show", operands: "NAME [--format table|csv|json]",
                           summary: "One account: parent, children, disabled, quotas, live sandboxes (never its key).") { call in
        let name = try call.operands(1)[0]
        let connection = try call.connect()
        try requireAccount(connection, name)
        print(try QueryOutput.render(connection, overview, [name], as: call.format(), oneRecord: true))
    }

    static let disable = Verb(group: "account", name: "disable", operands: "NAME",
                              summary: "Refuses the account's API key (on every gateway within 5 s); its live sandboxes run on.") { call in
        try setDisabled(call, true)
    }

    static let enable = Verb(group: "account", name: "enable", operands: "NAME",
                             summary: "Accepts the account's API key again.") { call in
        try setDisabled(call, false)
    }

    static let rotateKey = Verb(group: "account", name: "rotate-key", operands: "NAME",
                                summary: "Gives the account a new API key, printed alone on stdout; the old one stops working within 5 s.") { call in
        let name = try call.operands(1)[0]
        let key = APIKey.generate()
        let updated = try call.connect().query("UPDATE accounts SET key_hash = $2 WHERE name = $1",
                                               [name, byteaParameter(APIKey.hash(key))])
        guard updated.affectedRows == 1 else { throw UsageError("no account \(name)") }
        print(key)
    }

    static let setParent = Verb(group: "account", name: "set-parent", operands: "NAME PARENT | NAME --none",
                                summary: "Makes PARENT able to act for NAME (and its quota cover NAME's sandboxes); --none removes the parent.") { call in
        let connection = try call.connect()
        if call.settings.bool("none") {
            let name = try call.operands(1)[0]
            try requireAccount(connection, name)
            try connection.query("UPDATE accounts SET parent_id = NULL WHERE name = $1", [name])
            print("account \(name) has no parent")
            return
        }
        let words = try call.operands(2)
        try requireAccount(connection, words[0])
        try requireAccount(connection, words[1])
        let cycle = try connection.query("""
            WITH RECURSIVE up(id, parent_id) AS (
                SELECT id, parent_id FROM accounts WHERE name = $2
                UNION
                SELECT a.id, a.parent_id FROM accounts a JOIN up ON a.id = up.parent_id)
            SELECT 1 FROM up JOIN accounts child ON child.id = up.id WHERE child.name = $1
            """, [words[0], words[1]])
        guard cycle.rows.isEmpty else { throw UsageError("\(words[1]) is \(words[0]) or one of its descendants; accounts cannot be their own ancestors") }
        try connection.query("UPDATE accounts SET parent_id = (SELECT id FROM accounts WHERE name = $2) WHERE name = $1", words)
        print("account \(words[0]) has parent \(words[1])")
    }

    static let setQuota = Verb(group: "account", name: "set-quota",
                               operands: "NAME [--max-memory-mb N|none] [--max-sandboxes N|none]",
                               summary: "Limits the memory and the number of the account's live sandboxes (with its descendants'); none is unlimited.") { call in
        let name = try call.operands(1)[0]
        let memory = try quota(call.settings, "max-memory-mb"), sandboxes = try quota(call.settings, "max-sandboxes")
        guard memory != nil || sandboxes != nil else { throw UsageError("usage: \(call.verb.usage)") }
        let row = try call.connect().query("""
            UPDATE accounts SET max_memory_mb = CASE WHEN $2 THEN $3::integer ELSE max_memory_mb END,
                                max_sandboxes = CASE WHEN $4 THEN $5::integer ELSE max_sandboxes END
            WHERE name = $1
            RETURNING coalesce(max_memory_mb::text, 'unlimited') AS memory, coalesce(max_sandboxes::text, 'unlimited') AS sandboxes
            """, [name, memory == nil ? "f" : "t", memory ?? nil, sandboxes == nil ? "f" : "t", sandboxes ?? nil]).first
        guard let row else { throw UsageError("no account \(name)") }
        print("account \(name): max-memory-mb \(row["memory"] ?? "?"), max-sandboxes \(row["sandboxes"] ?? "?")")
    }

    /// Accounts with their parent, children and live sandboxes; `$1` NULL for all, else one name.
    static let overview = """
        SELECT a.name AS account, p.name AS parent,
               (SELECT string_agg(c.name, ' ' ORDER BY c.name) FROM accounts c WHERE c.parent_id = a.id) AS children,
               a.disabled, a.max_sandboxes, a.max_memory_mb,
               count(s.id) AS live_sandboxes, coalesce(sum(s.reserved_memory_mb), 0) AS live_memory_mb, a.created_at
        FROM accounts a LEFT JOIN accounts p ON p.id = a.parent_id
        LEFT JOIN sandboxes s ON s.owner_id = a.id AND s.state IN ('queued', 'assigned', 'running')
        WHERE $1::text IS NULL OR a.name = $1
        GROUP BY a.id, p.name
        """

    static func requireAccount(_ connection: PGConnection, _ name: String) throws {
        if try connection.query("SELECT 1 FROM accounts WHERE name = $1", [name]).rows.isEmpty {
            throw UsageError("no account \(name)")
        }
    }

    private static func setDisabled(_ call: Invocation, _ disabled: Bool) throws {
        let name = try call.operands(1)[0]
        let updated = try call.connect().query("UPDATE accounts SET disabled = $2 WHERE name = $1", [name, disabled ? "t" : "f"])
        guard updated.affectedRows == 1 else { throw UsageError("no account \(name)") }
        print("account \(name) \(disabled ? "disabled" : "enabled")")
    }

    /// A quota flag: nil when absent, .some(nil) for `none` (unlimited), else a count ≥ 0.
    private static func quota(_ settings: Settings, _ flag: String) throws -> String?? {
        guard let text = settings.string(flag) else { return nil }
        if text == "none" { return .some(nil) }
        guard let value = Int(text), value >= 0, value <= Int(Int32.max) else {
            throw UsageError("--\(flag) must be a whole number ≥ 0 or none, got '\(text)'")
        }
        return .some(String(value))
    }
}

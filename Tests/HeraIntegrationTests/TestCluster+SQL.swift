import HeraAdmin
import HeraDB

/// Reservations straight through the stored functions, without gateways or node workers.
extension TestCluster {
    /// A node row with a fresh heartbeat and no worker behind it: enough for the reservation logic.
    /// It holds the cluster's template.
    func registerNode(_ name: String, memory: Int, slots: Int) throws -> Int {
        let row = try connection.query("SELECT node_id, epoch FROM node_register($1, 'default', $2, $3)",
                                       [name, String(memory), String(slots)]).first
        try connection.query("SELECT node_templates_report($1, $2, ARRAY[$3::bigint], '{}')",
                             [row?["node_id"], row?["epoch"], String(templateID)])
        return row?.int("node_id") ?? 0
    }

    /// Registers a system template (public), as `hera template add` does; returns its id.
    func addTemplate(name: String, rootfs: String) throws -> Int {
        try Admin.templateAdd(connection, name: name, rootfs: rootfs, isPublic: true, minMemoryMB: 16)
    }

    /// Creates an account; returns its API key.
    func addAccount(_ name: String) throws -> String {
        try Admin.accountCreate(connection, name: name)
    }

    /// `sandbox_create` as account `caller` (the test account is 1) for `owner` (`me` or a name).
    func reserve(memory: Int, whole: Bool = false, caller: Int = 1, owner: String = "me")
        throws -> (status: String, message: String?, id: String?) {
        let row = try connection.query(
            "SELECT status, message, sandbox_id FROM sandbox_create($1, $2, 'busybox', $3, 60, $4, NULL)",
            [String(caller), owner, String(memory), whole ? "t" : "f"]).first
        return (row?["status"] ?? "", row?["message"], row?["sandbox_id"])
    }

    /// Marks a reserved sandbox running as its node would, as if it had started `secondsAgo` ago.
    func markRunning(_ id: String, secondsAgo: Double = 0) throws {
        try connection.query("""
            UPDATE sandboxes SET state = 'running', started_at = now() - $2 * interval '1 second',
                                 expires_at = now() + interval '1 hour'
            WHERE id = $1 AND state = 'assigned'
            """, [id, String(secondsAgo)])
    }

    @discardableResult
    func finish(_ id: String, _ reason: String) throws -> Bool {
        try connection.query("SELECT sandbox_finish($1, $2, NULL) AS done", [id, reason]).first?.bool("done") ?? false
    }
}

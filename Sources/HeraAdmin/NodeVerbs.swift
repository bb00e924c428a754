import HeraDB
import HeraSupport

/// `hera node …` (with a verb; `hera node` alone runs the node worker): the machines that run sandboxes.
enum NodeVerbs {
    static let all = [list, drain, undrain, forget]

    static let list = Verb(group: "node", name: "list", operands: "[--format table|csv|json]",
                           summary: "Every node: type, state (up, drained, down), reserved and total memory and slots, live sandboxes, last heartbeat.") { call in
        _ = try call.operands(0)
        print(try QueryOutput.render(call.connect(), """
            SELECT u.name, u.node_type, u.state, n.address, u.memory_reserved_mb, u.memory_total_mb,
                   u.slots_reserved, u.slots_total,
                   (SELECT count(*) FROM sandboxes s WHERE s.node_id = n.id AND s.state IN ('assigned', 'running')) AS live_sandboxes,
                   round(extract(epoch FROM now() - n.heartbeat_at)) AS heartbeat_seconds_ago
            FROM node_utilisation u JOIN nodes n ON n.name = u.name
            ORDER BY u.name
            """, [], as: call.format()))
    }

    static let drain = Verb(group: "node", name: "drain", operands: "NAME",
                            summary: "The node takes no new sandboxes; those on it run until they end.") { call in
        try setDrained(call, true)
    }

    static let undrain = Verb(group: "node", name: "undrain", operands: "NAME",
                              summary: "The node takes new sandboxes again.") { call in
        try setDrained(call, false)
    }

    static let forget = Verb(group: "node", name: "forget", operands: "NAME",
                             summary: "Deletes a node that is down and has no live sandboxes; its finished sandboxes keep their usage.") { call in
        let name = try call.operands(1)[0]
        let connection = try call.connect()
        guard let node = try connection.query("""
            SELECT id, heartbeat_at > now() - node_heartbeat_bound() AS live,
                   (SELECT count(*) FROM sandboxes s WHERE s.node_id = n.id AND s.state IN ('assigned', 'running')) AS sandboxes
            FROM nodes n WHERE name = $1
            """, [name]).first, let id = node.int("id") else { throw UsageError("no node \(name)") }
        let sandboxes = node.int("sandboxes") ?? 0
        guard sandboxes == 0 else { throw UsageError("node \(name) has \(sandboxes) live sandboxes; drain it and wait until they end") }
        guard node.bool("live") != true else { throw UsageError("node \(name) is still heart-beating; stop its hera node first") }
        do {
            try connection.query("DELETE FROM nodes WHERE id = $1", [String(id)])
        } catch let error as PGError where error.sqlState == PGError.checkViolation {
            throw UsageError("node \(name) was given a sandbox meanwhile; try again once it has ended")
        }
        print("node \(name) forgotten")
    }

    private static func setDrained(_ call: Invocation, _ drained: Bool) throws {
        let name = try call.operands(1)[0]
        let updated = try call.connect().query("UPDATE nodes SET drained = $2 WHERE name = $1", [name, drained ? "t" : "f"])
        guard updated.affectedRows == 1 else { throw UsageError("no node \(name)") }
        print("node \(name) \(drained ? "drained" : "undrained")")
    }
}

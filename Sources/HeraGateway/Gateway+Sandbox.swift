import Foundation
import HeraDB
import HeraHTTP

extension Gateway {
    func sandboxCreate(_ caller: Caller, _ parameters: Parameters) throws -> HTTPResponse {
        let queueing = try QueueParameters(parameters, config: config)
        // A main command (args or command, as for exec) makes a sandbox that ends with it.
        let mainArgs = parameters["args"] != nil || parameters["command"] != nil
            ? String(decoding: try JSONEncoder().encode(try parameters.command()), as: UTF8.self) : nil
        let memory = try parameters.integer("memory", in: 1...GatewayConfig.maxMemoryMB, what: "megabytes")
        guard let memory else { throw APIError.malformed("memory is required (megabytes)") }
        guard let timeoutText = parameters["timeout"] else { throw APIError.malformed("timeout is required (seconds)") }
        guard let timeout = Int(timeoutText), timeout > 0 else { throw APIError.malformed("timeout must be a positive integer (seconds)") }
        guard timeout <= config.maxTimeoutSeconds else {
            throw APIError.malformed("timeout must be at most \(config.maxTimeoutSeconds) seconds")
        }
        guard let template = parameters["template"] ?? parameters["disk"], !template.isEmpty else {
            throw APIError.malformed("template is required")
        }
        let owner = parameters["owner"] ?? "me"
        let wholeNode = try parameters.bool("whole_node", default: false)
        let nodeType = parameters["node_type"].flatMap { $0.isEmpty ? nil : $0 }
        let labels = try Labels.checked(try parameters.stringMap("labels") ?? [:])
        for (name, value) in [("template", template), ("owner", owner), ("node_type", nodeType ?? "")] where value.utf8.count > 200 {
            throw APIError.malformed("\(name) is too long (at most 200 bytes)")
        }

        let row = try pool.query(
            "SELECT status, message, sandbox_id, node_id, exec_id FROM sandbox_create($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)",
            [String(caller.id), owner, template, String(memory), String(timeout), wholeNode ? "t" : "f", nodeType,
             queueing.async ? "t" : "f", String(queueing.priority), String(queueing.priorityGrowth),
             queueing.queueTimeout.map(String.init), queueing.webhookURL, queueing.webhookSecret,
             String(config.maxQueuedPerAccount), String(config.queueBackfillLimitSeconds), mainArgs, labels]).first
        guard let row, let status = row["status"] else { throw APIError("InternalError", 500, "reservation returned nothing") }
        guard status == "ok", let id = row["sandbox_id"] else {
            throw APIError.fromDatabase(status, row["message"] ?? status)
        }
        if let node = row.int("node_id") { waker.wake(node: node) }
        var answer: [String: Any] = ["id": id]
        if let exec = row.int("exec_id") { answer["exec_id"] = exec }
        return Response.ok(answer)
    }

    func sandboxGet(_ caller: Caller, _ id: String) throws -> HTTPResponse {
        let sandbox = try sandboxRow(caller, id)
        return Response.ok(Gateway.sandboxJSON(sandbox))
    }

    static let states = ["queued", "assigned", "running", "finished"]

    /// Newest first, `limit` at a time; `before` (the last id of a page, given back as `next`) pages on.
    func sandboxList(_ caller: Caller, _ parameters: Parameters) throws -> HTTPResponse {
        let limit = try parameters.integer("limit", in: 1...1000, what: "how many, newest first") ?? 100
        let state = parameters["state"]
        if let state, !Gateway.states.contains(state) {
            throw APIError.malformed("state must be one of \(Gateway.states.joined(separator: ", "))")
        }
        let before = try parameters["before"].map(Gateway.sandboxID)
        let label = try parameters["label"].map(Labels.filter)
        let rows = try pool.query(
            """
            SELECT \(Gateway.sandboxColumns) \(Gateway.sandboxJoins)
            WHERE (s.owner_id IN (SELECT id FROM accounts WHERE id = $1 OR parent_id = $1) OR s.creator_id = $1)
              AND ($3::text IS NULL OR s.state = $3)
              AND ($4::uuid IS NULL OR (s.created_at, s.id) < (SELECT created_at, id FROM sandboxes WHERE id = $4))
              AND ($5::jsonb IS NULL OR s.labels @> $5::jsonb)
            ORDER BY s.created_at DESC, s.id DESC LIMIT $2
            """,
            [String(caller.id), String(limit), state, before, label]).rows
        var answer: [String: Any] = ["sandboxes": rows.map(Gateway.sandboxJSON)]
        if rows.count == limit, let last = rows.last?["id"] { answer["next"] = last }
        return Response.ok(answer)
    }

    /// Waits until the sandbox has finished or `timeout` seconds (default 30, at most
    /// `maxWaitSeconds`) pass, then answers its state either way.
    func sandboxWait(_ caller: Caller, _ id: String, _ parameters: Parameters) throws -> HTTPResponse {
        let timeout = try parameters.integer("timeout", in: 0...GatewayConfig.maxWaitSeconds,
                                             what: "seconds to wait") ?? GatewayConfig.defaultWaitSeconds
        return try sandboxWait(caller, id, until: Date(timeIntervalSinceNow: Double(timeout)))
    }

    private func sandboxWait(_ caller: Caller, _ id: String, until deadline: Date) throws -> HTTPResponse {
        let sandbox = try events.wait(for: "sandbox:" + id, until: deadline, caller: caller) { () -> PGRow? in
            let current = try sandboxRow(caller, id)
            return current["state"] == "finished" ? current : nil
        } ?? sandboxRow(caller, id)
        return Response.ok(Gateway.sandboxJSON(sandbox))
    }

    func sandboxKill(_ caller: Caller, _ id: String) throws -> HTTPResponse {
        guard let row = try pool.query("SELECT status, message, node_id FROM sandbox_request_kill($1, $2)",
                                        [String(caller.id), id]).first, let status = row["status"] else {
            throw APIError("InternalError", 500, "kill returned nothing")
        }
        guard status == "ok" else { throw APIError.fromDatabase(status, row["message"] ?? status) }
        if let node = row.int("node_id") { waker.wake(node: node) }
        return try sandboxWait(caller, id, until: Date(timeIntervalSinceNow: GatewayConfig.killWaitSeconds))
    }

    /// The sandbox if the caller may see it; SandboxDoesNotExist or PermissionDenied otherwise.
    func sandboxRow(_ caller: Caller, _ id: String) throws -> PGRow {
        guard let row = try pool.query(
            "SELECT \(Gateway.sandboxColumns), account_may_use($2, s) AS allowed \(Gateway.sandboxJoins) WHERE s.id = $1",
            [id, String(caller.id)]).first else { throw APIError.noSuchSandbox }
        guard row.bool("allowed") == true else { throw APIError.denied("this sandbox belongs to another account") }
        return row
    }

    /// The canonical (lower-case) form of a sandbox id; SandboxDoesNotExist when it is not a UUID.
    static func sandboxID(_ text: String) throws -> String {
        guard let uuid = UUID(uuidString: text) else { throw APIError.noSuchSandbox }
        return uuid.uuidString.lowercased()
    }

    static let sandboxColumns = """
        s.id, s.state, s.finish_reason, s.finish_detail, s.memory_mb, s.timeout_s, s.whole_node,
        s.template_id, t.name AS template_name, n.name AS node, o.name AS owner, s.priority, s.cpu_seconds, s.peak_memory_mb,
        s.labels::text AS labels,
        CASE WHEN s.state = 'queued' THEN queue_position(s.id) END AS queue_position,
        to_json(s.created_at) #>> '{}' AS created_at, to_json(s.started_at) #>> '{}' AS started_at,
        to_json(s.expires_at) #>> '{}' AS expires_at, to_json(s.finished_at) #>> '{}' AS finished_at
        """
    static let sandboxJoins = """
        FROM sandboxes s JOIN templates t ON t.id = s.template_id JOIN accounts o ON o.id = s.owner_id
        LEFT JOIN nodes n ON n.id = s.node_id
        """

    static func sandboxJSON(_ row: PGRow) -> [String: Any] {
        func value(_ text: String?) -> Any { text ?? NSNull() }
        return [
            "id": value(row["id"]), "state": value(row["state"]), "finish_reason": value(row["finish_reason"]),
            "finish_detail": value(row["finish_detail"]), "memory": row.int("memory_mb") ?? 0,
            "timeout": row.int("timeout_s") ?? 0, "whole_node": row.bool("whole_node") ?? false,
            "template": row.int("template_id") ?? 0, "template_name": value(row["template_name"]),
            "node": value(row["node"]), "owner": value(row["owner"]),
            "created_at": value(row["created_at"]), "started_at": value(row["started_at"]),
            "expires_at": value(row["expires_at"]), "finished_at": value(row["finished_at"]),
            "cpu_seconds": row.double("cpu_seconds").map { $0 as Any } ?? NSNull(),
            "peak_memory_mb": row.int("peak_memory_mb").map { $0 as Any } ?? NSNull(),
            "priority": row.int("priority") ?? 0, "queue_position": row.int("queue_position").map { $0 as Any } ?? NSNull(),
            "labels": (try? JSONSerialization.jsonObject(with: Data((row["labels"] ?? "{}").utf8))) ?? [:],
        ]
    }
}

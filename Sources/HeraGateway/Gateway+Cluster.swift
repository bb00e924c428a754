import Foundation
import HeraHTTP

extension Gateway {
    /// The nodes and their free resources, as the original API showed them (`address`,
    /// `resources` = what is free), plus name, type, state and totals.
    func clusterGet() throws -> HTTPResponse {
        let rows = try pool.query("""
            SELECT name, address, node_type, drained, memory_total_mb, memory_reserved_mb, slots_total, slots_reserved,
                   heartbeat_at > now() - node_heartbeat_bound() AS live
            FROM nodes ORDER BY name
            """).rows
        let nodes: [[String: Any]] = rows.map { row in
            let memoryTotal = row.int("memory_total_mb") ?? 0, memoryReserved = row.int("memory_reserved_mb") ?? 0
            let slotsTotal = row.int("slots_total") ?? 0, slotsReserved = row.int("slots_reserved") ?? 0
            let state = row.bool("live") != true ? "down" : row.bool("drained") == true ? "drained" : "up"
            return [
                "name": row["name"] ?? "", "address": row["address"] ?? "", "type": row["node_type"] ?? "",
                "state": state,
                "resources": ["memory": memoryTotal - memoryReserved, "slots": slotsTotal - slotsReserved],
                "total": ["memory": memoryTotal, "slots": slotsTotal],
            ]
        }
        return Response.ok(["nodes": nodes])
    }
}

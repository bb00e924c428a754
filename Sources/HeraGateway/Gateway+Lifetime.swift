import Foundation
import HeraDB
import HeraHTTP

extension Gateway {
    /// Sets a live sandbox's `timeout` to a new total of seconds from its start (at most the
    /// gateway's maximum): `expires_at` moves, and its node moves its deadline at once.
    func sandboxSetTimeout(_ caller: Caller, _ id: String, _ parameters: Parameters) throws -> HTTPResponse {
        guard let timeout = try parameters.integer("timeout", in: 1...config.maxTimeoutSeconds,
                                                   what: "seconds from the sandbox's start") else {
            throw APIError.malformed("timeout is required (seconds from the sandbox's start)")
        }
        guard let row = try pool.query("SELECT status, message, node_id FROM sandbox_set_timeout($1, $2, $3)",
                                        [String(caller.id), id, String(timeout)]).first, let status = row["status"] else {
            throw APIError("InternalError", 500, "timeout change returned nothing")
        }
        guard status == "ok" else { throw APIError.fromDatabase(status, row["message"] ?? status) }
        if let node = row.int("node_id") { waker.wake(node: node) }
        return Response.ok(Gateway.sandboxJSON(try sandboxRow(caller, id)))
    }
}

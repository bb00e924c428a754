import Foundation
import HeraDB
import HeraHTTP

extension Gateway {
    /// How long POST /sandbox/:id/create_template waits for the node to copy the filesystem.
    static let templateSaveWait = 120.0

    /// Saves a running sandbox's filesystem as a new private template of the caller's, then the
    /// sandbox ends (as in the original Hera). Answers the template once its node has copied the
    /// filesystem — or, past the wait, while it is still `creating`.
    func sandboxSaveAsTemplate(_ caller: Caller, _ id: String, _ parameters: Parameters) throws -> HTTPResponse {
        let name = try Gateway.templateName(parameters)
        let deadline = Date(timeIntervalSinceNow: Gateway.templateSaveWait)
        try awaitStart(caller, id, until: deadline)
        guard let row = try pool.query("""
            SELECT status, message, template_id, node_id FROM sandbox_save_as_template($1, $2, $3, $4, $5, $6)
            """, [String(caller.id), id, name, String(config.maxTemplatesPerAccount), String(config.maxTemplateMBPerAccount),
                  String(config.maxTemplateFilesPerAccount)]).first, let status = row["status"] else {
            throw APIError("InternalError", 500, "saving the template returned nothing")
        }
        guard status == "ok", let template = row.int("template_id") else {
            throw APIError.fromDatabase(status, row["message"] ?? status)
        }
        if let node = row.int("node_id") { waker.wake(node: node) }
        let ended = try events.wait(for: "sandbox:" + id, until: deadline, caller: caller) { () -> PGRow? in
            let sandbox = try sandboxRow(caller, id)
            return sandbox["state"] == "finished" ? sandbox : nil
        }
        let saved = try pool.query("""
            SELECT \(Gateway.templateColumns) FROM templates t LEFT JOIN accounts a ON a.id = t.owner_id WHERE t.id = $1
            """, [String(template)]).first
        guard let saved else {
            // Ended `killed`: by its node, which could not save it (no one else may kill it now).
            if ended?["finish_reason"] == "killed" {
                throw APIError("InternalError", 500, "the sandbox ended, but its node could not save its filesystem")
            }
            throw APIError("SandboxNoLongerAlive", 410, "the sandbox ended before its filesystem was saved")
        }
        return Response.ok(Gateway.templateJSON(saved))
    }

    /// A sandbox just created is `assigned` until its node has started it (a few tens of
    /// milliseconds): a save asked for meanwhile waits for the start.
    private func awaitStart(_ caller: Caller, _ id: String, until deadline: Date) throws {
        while try sandboxRow(caller, id)["state"] == "assigned" && Date() < deadline && caller.isConnected() {
            usleep(20_000)
        }
    }
}

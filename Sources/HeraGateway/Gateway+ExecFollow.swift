import Foundation
import HeraDB
import HeraHTTP

/// Live output: a client follows a running command by asking for the bytes after the offsets
/// it has read, waiting (long poll) up to `wait` seconds for new ones. The node appends output
/// to the exec's row while it runs and notifies `exec-output:<id>`.
extension Gateway {
    static let maxFollowWaitSeconds = 30

    func execFollow(_ caller: Caller, _ execID: Int, _ parameters: Parameters) throws -> HTTPResponse {
        let stdoutOffset = try parameters.integer("stdout_offset", in: 0...Int(Int32.max), what: "bytes of stdout already read") ?? 0
        let stderrOffset = try parameters.integer("stderr_offset", in: 0...Int(Int32.max), what: "bytes of stderr already read") ?? 0
        let wait = try parameters.integer("wait", in: 0...Gateway.maxFollowWaitSeconds, what: "seconds to wait for new output") ?? 0
        func read() throws -> PGRow {
            guard let row = try pool.query("""
                SELECT \(Gateway.execEndingColumns),
                       substring(coalesce(stdout, '') FROM $2 + 1) AS new_stdout, substring(coalesce(stderr, '') FROM $3 + 1) AS new_stderr
                FROM execs WHERE id = $1
                """, [String(execID), String(stdoutOffset), String(stderrOffset)]).first else {
                throw APIError("ExecDoesNotExist", 404, "no such exec in this sandbox")
            }
            return row
        }
        let row = try events.wait(for: "exec-output:\(execID)", until: Date(timeIntervalSinceNow: Double(wait)), caller: caller) {
            let row = try read()
            let hasNews = row["state"] == "done" || !(row.bytes("new_stdout") ?? []).isEmpty || !(row.bytes("new_stderr") ?? []).isEmpty
            return hasNews ? row : nil
        } ?? read()
        // While the command runs, a character split at the end waits for its last bytes.
        func complete(_ bytes: [UInt8]) -> [UInt8] {
            row["state"] == "done" ? bytes : Array(bytes.prefix(UTF8Boundary.completePrefixLength(bytes)))
        }
        let newStdout = complete(row.bytes("new_stdout") ?? []), newStderr = complete(row.bytes("new_stderr") ?? [])
        var answer: [String: Any] = ["exec_id": execID, "finished": false, "state": row["state"] ?? ""]
        if row["state"] == "done" {
            answer.merge(Gateway.execEnding(row)) { $1 }
            answer["error"] = row["error"] ?? NSNull()
        }
        answer["stdout"] = String(decoding: newStdout, as: UTF8.self)
        answer["stderr"] = String(decoding: newStderr, as: UTF8.self)
        answer["stdout_offset"] = stdoutOffset + newStdout.count
        answer["stderr_offset"] = stderrOffset + newStderr.count
        return Response.ok(answer)
    }
}

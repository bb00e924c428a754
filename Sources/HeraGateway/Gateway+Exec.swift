import Foundation
import HeraDB
import HeraHTTP

extension Gateway {
    /// Largest stdin accepted for a command (the HTTP body limit bounds it too).
    static let maxStdinBytes = 4 << 20

    func execCreate(_ caller: Caller, _ sandboxID: String, _ parameters: Parameters) throws -> HTTPResponse {
        let args = try parameters.command()
        let stdin = Array((parameters["stdin"] ?? "").utf8)
        guard stdin.count <= Gateway.maxStdinBytes else { throw APIError("RequestTooLarge", 413, "stdin is larger than 4 MiB") }
        let sync = try parameters.bool("sync", default: true)
        var timeout: Double?
        if let text = parameters["timeout"] {
            guard let seconds = Double(text), seconds.isFinite, seconds > 0, seconds <= Double(config.maxExecWaitSeconds) else {
                throw APIError.malformed("timeout must be a number of seconds above 0 and at most \(config.maxExecWaitSeconds)")
            }
            timeout = seconds
        }
        let mergeStderr: Bool
        switch parameters["stderr"] {
        case nil, "stderr"?, "pipe"?: mergeStderr = false
        case "stdout"?: mergeStderr = true
        default: throw APIError.malformed("stderr must be stdout (to merge it into stdout) or stderr")
        }
        _ = try parameters.bool("chroot", default: true)   // the original client sends it; every command runs in the sandbox's root
        let argsJSON = String(decoding: try JSONEncoder().encode(args), as: UTF8.self)
        guard let row = try pool.query("SELECT status, message, exec_id, node_id FROM exec_create($1, $2, $3, $4, $5, $6)",
                                        [String(caller.id), sandboxID, argsJSON, byteaParameter(stdin),
                                         mergeStderr ? "t" : "f", timeout.map { String($0) }]).first,
              let status = row["status"] else { throw APIError("InternalError", 500, "exec returned nothing") }
        guard status == "ok", let execID = row.int("exec_id") else { throw APIError.fromDatabase(status, row["message"] ?? status) }
        if let node = row.int("node_id") { waker.wake(node: node) }
        guard sync else { return Response.ok(["exec_id": execID]) }
        let deadline = Date(timeIntervalSinceNow: Double(config.maxExecWaitSeconds))
        guard let done = try events.wait(for: "exec:\(execID)", until: deadline, caller: caller, check: { try execDone(execID) }) else {
            return Response.ok(["exec_id": execID, "finished": false])
        }
        return try Gateway.execJSON(done)
    }

    func execGet(_ caller: Caller, _ sandboxID: String, _ execText: String) throws -> HTTPResponse {
        _ = try sandboxRow(caller, sandboxID)
        guard let execID = Int(execText), execID > 0,
              let row = try pool.query("SELECT \(Gateway.execColumns) FROM execs WHERE id = $1 AND sandbox_id = $2",
                                       [String(execID), sandboxID]).first else {
            throw APIError("ExecDoesNotExist", 404, "no such exec in this sandbox")
        }
        guard row["state"] == "done" else { return Response.ok(["exec_id": execID, "finished": false, "state": row["state"] ?? ""]) }
        return try Gateway.execJSON(row)
    }

    private func execDone(_ id: Int) throws -> PGRow? {
        let row = try pool.query("SELECT \(Gateway.execColumns) FROM execs WHERE id = $1", [String(id)]).first
        return row?["state"] == "done" ? row : nil
    }

    static let execColumns = """
        id, state, stdout, stderr, stdout_truncated, stderr_truncated, exit_code, signal, oom_killed, error, timed_out,
        wall_seconds, cpu_user_seconds, cpu_system_seconds, peak_memory_bytes, peak_pids
        """

    /// `code` is the exit status, or 128 + the signal number when a signal ended the command (as shells report it).
    /// A command cut short by its sandbox's end answers what it wrote, with `sandbox_ended`;
    /// one that never ran is SandboxNoLongerAlive.
    static func execJSON(_ row: PGRow) throws -> HTTPResponse {
        if let error = row["error"], row["exit_code"] == nil, row["signal"] == nil {
            throw APIError("SandboxNoLongerAlive", 410, error)
        }
        let signal = row.int("signal")
        let code = row.int("exit_code") ?? signal.map { 128 + $0 } ?? -1
        return Response.ok([
            "exec_id": row.int("id") ?? 0, "finished": true,
            "stdout": String(decoding: row.bytes("stdout") ?? [], as: UTF8.self),
            "stderr": String(decoding: row.bytes("stderr") ?? [], as: UTF8.self),
            "stdout_truncated": row.bool("stdout_truncated") ?? false,
            "stderr_truncated": row.bool("stderr_truncated") ?? false,
            "code": code, "signal": signal.map { $0 as Any } ?? NSNull(),
            "oom_killed": row.bool("oom_killed") ?? false, "timed_out": row.bool("timed_out") ?? false,
            "sandbox_ended": row["error"] != nil,
            "wall_seconds": row.double("wall_seconds").map { $0 as Any } ?? NSNull(),
            "cpu_user_seconds": row.double("cpu_user_seconds").map { $0 as Any } ?? NSNull(),
            "cpu_system_seconds": row.double("cpu_system_seconds").map { $0 as Any } ?? NSNull(),
            "peak_memory_bytes": row.int("peak_memory_bytes").map { $0 as Any } ?? NSNull(),
            "peak_pids": row.int("peak_pids").map { $0 as Any } ?? NSNull(),
        ])
    }
}

import Foundation
import HeraDB
import HeraHTTP

extension Gateway {
    /// Largest stdin accepted for a command (the HTTP body limit bounds it too).
    static let maxStdinBytes = 4 << 20

    func execCreate(_ caller: Caller, _ sandboxID: String, _ parameters: Parameters) throws -> HTTPResponse {
        let order = try execOrder(parameters)
        let sync = try parameters.bool("sync", default: true)
        _ = try parameters.bool("chroot", default: true)   // the original client sends it; every command runs in the sandbox's root
        let execID = try execQueue(caller, sandboxID, order)
        guard sync else { return Response.ok(["exec_id": execID]) }
        guard let done = try execAwait(caller, execID) else { return Response.ok(["exec_id": execID, "finished": false]) }
        return try Gateway.execJSON(done)
    }

    /// The command as the client asked for it: args or command, stdin (parameter or raw body), env, cwd, timeout, stderr.
    private func execOrder(_ parameters: Parameters) throws -> ExecOrder {
        var order = ExecOrder(args: try parameters.command())
        if let body = parameters.rawBody {
            guard parameters["stdin"] == nil else { throw APIError.malformed("give stdin as a parameter or as the body, not both") }
            order.stdin = body
        } else {
            order.stdin = Array((parameters["stdin"] ?? "").utf8)
        }
        guard order.stdin.count <= Gateway.maxStdinBytes else { throw APIError("RequestTooLarge", 413, "stdin is larger than 4 MiB") }
        if let text = parameters["timeout"] {
            guard let seconds = Double(text), seconds.isFinite, seconds > 0, seconds <= Double(config.maxExecWaitSeconds) else {
                throw APIError.malformed("timeout must be a number of seconds above 0 and at most \(config.maxExecWaitSeconds)")
            }
            order.timeout = seconds
        }
        switch parameters["stderr"] {
        case nil, "stderr"?, "pipe"?: order.mergeStderr = false
        case "stdout"?: order.mergeStderr = true
        default: throw APIError.malformed("stderr must be stdout (to merge it into stdout) or stderr")
        }
        (order.env, order.cwd) = try ExecOrder.checked(env: try parameters.stringMap("env") ?? [:], cwd: parameters["cwd"] ?? "/")
        return order
    }

    /// Queues a command in a live sandbox the caller may use and wakes its node; returns the exec id.
    func execQueue(_ caller: Caller, _ sandboxID: String, _ order: ExecOrder) throws -> Int {
        let encoder = JSONEncoder()
        guard let row = try pool.query(
            "SELECT status, message, exec_id, node_id FROM exec_create($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            [String(caller.id), sandboxID, String(decoding: try encoder.encode(order.args), as: UTF8.self),
             byteaParameter(order.stdin), order.mergeStderr ? "t" : "f", order.timeout.map { String($0) },
             String(decoding: try encoder.encode(order.env), as: UTF8.self), order.cwd, order.outputLimit.map(String.init)]).first,
              let status = row["status"] else { throw APIError("InternalError", 500, "exec returned nothing") }
        guard status == "ok", let execID = row.int("exec_id") else { throw APIError.fromDatabase(status, row["message"] ?? status) }
        if let node = row.int("node_id") { waker.wake(node: node) }
        return execID
    }

    /// The finished exec's row, or nil when it has not finished within the gateway's exec wait bound.
    func execAwait(_ caller: Caller, _ execID: Int) throws -> PGRow? {
        let deadline = Date(timeIntervalSinceNow: Double(config.maxExecWaitSeconds))
        return try events.wait(for: "exec:\(execID)", until: deadline, caller: caller) {
            let row = try pool.query("SELECT \(Gateway.execColumns) FROM execs WHERE id = $1", [String(execID)]).first
            return row?["state"] == "done" ? row : nil
        }
    }

    /// Runs a command Hera itself needs (download, unpack) to its end and answers its row.
    func execRun(_ caller: Caller, _ sandboxID: String, _ order: ExecOrder) throws -> PGRow {
        let execID = try execQueue(caller, sandboxID, order)
        guard let row = try execAwait(caller, execID) else {
            throw APIError("ServiceUnavailable", 503, "the sandbox did not run the command in time; retry")
        }
        if let error = row["error"] { throw APIError("SandboxNoLongerAlive", 410, error) }
        return row
    }

    /// A command's result; with `stdout_offset`, `stderr_offset` or `wait`, its output so far (see `execFollow`).
    func execGet(_ caller: Caller, _ sandboxID: String, _ execText: String, _ parameters: Parameters) throws -> HTTPResponse {
        _ = try sandboxRow(caller, sandboxID)
        guard let execID = Int(execText), execID > 0,
              let row = try pool.query("SELECT \(Gateway.execColumns) FROM execs WHERE id = $1 AND sandbox_id = $2",
                                       [String(execID), sandboxID]).first else {
            throw APIError("ExecDoesNotExist", 404, "no such exec in this sandbox")
        }
        if ["stdout_offset", "stderr_offset", "wait"].contains(where: { parameters[$0] != nil }) {
            return try execFollow(caller, execID, parameters)
        }
        guard row["state"] == "done" else { return Response.ok(["exec_id": execID, "finished": false, "state": row["state"] ?? ""]) }
        return try Gateway.execJSON(row)
    }

    /// Everything of an exec's row but its output.
    static let execEndingColumns = """
        id, state, stdout_truncated, stderr_truncated, exit_code, signal, oom_killed, error, timed_out,
        wall_seconds, cpu_user_seconds, cpu_system_seconds, peak_memory_bytes, peak_pids
        """
    static let execColumns = "stdout, stderr, " + execEndingColumns

    /// `code` is the exit status, or 128 + the signal number when a signal ended the command (as shells report it).
    /// A command cut short by its sandbox's end answers what it wrote, with `sandbox_ended`;
    /// one that never ran is SandboxNoLongerAlive.
    static func execJSON(_ row: PGRow) throws -> HTTPResponse {
        if let error = row["error"], row["exit_code"] == nil, row["signal"] == nil {
            throw APIError("SandboxNoLongerAlive", 410, error)
        }
        var answer = execEnding(row)
        answer["stdout"] = String(decoding: row.bytes("stdout") ?? [], as: UTF8.self)
        answer["stderr"] = String(decoding: row.bytes("stderr") ?? [], as: UTF8.self)
        return Response.ok(answer)
    }

    /// How a finished command ended: everything of its result but the output itself.
    static func execEnding(_ row: PGRow) -> [String: Any] {
        let signal = row.int("signal")
        let code = row.int("exit_code") ?? signal.map { 128 + $0 } ?? -1
        return [
            "exec_id": row.int("id") ?? 0, "finished": true,
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
        ]
    }
}

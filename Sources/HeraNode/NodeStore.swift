import HeraDB
import HeraSandbox

/// The node's database operations, named entity-then-verb. Every write names the node run
/// (id and epoch): once the run is fenced off (declared lost, or replaced), they change nothing.
struct NodeStore {
    let pool: PGPool

    /// One run of this node, as registered.
    struct Run {
        let node: Int
        let epoch: Int
    }

    struct LiveSandbox {
        let id: String
        let state: String
        let killRequested: Bool
        let memoryMB: Int
        let rootfs: String
        /// Until `expires_at`, for a running sandbox (its timeout may have been changed).
        let secondsLeft: Double?
        /// The template this sandbox is to be saved as before it ends.
        let saveAsTemplate: Int?
    }

    struct ClaimedExec {
        let id: Int
        let sandboxID: String
        let argsJSON: String
        let stdin: [UInt8]
        let envJSON: String
        let cwd: String
        let outputLimit: Int?
        let mergeStderr: Bool
        let isMain: Bool
        let timeoutSeconds: Double?
    }

    func nodeRegister(_ config: NodeConfig) throws -> Run {
        guard let row = try pool.query("SELECT node_id, epoch FROM node_register($1, $2, $3, $4, $5)",
                                       [config.name, config.nodeType, String(config.memoryMB), String(config.slots),
                                        config.address]).first,
              let node = row.int("node_id"), let epoch = row.int("epoch")
        else { throw PGError(sqlState: nil, message: "node_register returned nothing") }
        return Run(node: node, epoch: epoch)
    }

    /// False when this run has been fenced off.
    func nodeHeartbeat(_ run: Run) throws -> Bool {
        try pool.query("SELECT node_heartbeat($1, $2) AS ok", [String(run.node), String(run.epoch)]).first?.bool("ok") == true
    }

    /// Every sandbox the database places on this node and that has not finished.
    func sandboxesLive(_ node: Int) throws -> [LiveSandbox] {
        try pool.query("""
            SELECT s.id, s.state, s.kill_requested, s.memory_mb, t.rootfs, s.capture_template_id,
                   extract(epoch FROM s.expires_at - now())::double precision AS seconds_left
            FROM sandboxes s
            JOIN templates t ON t.id = s.template_id
            WHERE s.node_id = $1 AND s.state IN ('assigned', 'running')
            """, [String(node)]).rows.compactMap { row in
            guard let id = row["id"], let state = row["state"], let memory = row.int("memory_mb"),
                  let rootfs = row["rootfs"] else { return nil }
            return LiveSandbox(id: id, state: state, killRequested: row.bool("kill_requested") ?? false,
                               memoryMB: memory, rootfs: rootfs, secondsLeft: row.double("seconds_left"),
                               saveAsTemplate: row.int("capture_template_id"))
        }
    }

    /// Every template with a root filesystem: id and directory.
    func templatesReady() throws -> [(id: Int, rootfs: String)] {
        try pool.query("SELECT id, rootfs FROM templates WHERE state = 'ready'").rows.compactMap { row in
            guard let id = row.int("id"), let rootfs = row["rootfs"] else { return nil }
            return (id, rootfs)
        }
    }

    /// Records which of the templates it looked at this node holds, and which it does not.
    func nodeTemplatesReport(_ run: Run, held: [Int], missing: [Int]) throws {
        func array(_ ids: [Int]) -> String { "{" + ids.map(String.init).joined(separator: ",") + "}" }
        try pool.query("SELECT node_templates_report($1, $2, $3, $4)", [String(run.node), String(run.epoch), array(held), array(missing)])
    }

    /// The sandbox's filesystem is now at `rootfs`: its template is ready, held by this node.
    /// Returns the template id, or nil when the template or the run is no longer current.
    func templateSaved(sandbox id: String, run: Run, rootfs: String, size: TemplateStore.Size) throws -> Int? {
        try pool.query("SELECT node_template_saved($1, $2, $3, $4, $5, $6) AS id",
                       [String(run.node), String(run.epoch), id, rootfs, String(size.megabytes), String(size.files)]).first?.int("id")
    }

    /// Marks a started sandbox running; returns its seconds to live, or nil if it is no longer assigned here.
    func sandboxMarkRunning(_ id: String, run: Run) throws -> Double? {
        try pool.query("SELECT sandbox_mark_running($1, $2, $3) AS seconds",
                       [id, String(run.node), String(run.epoch)]).first?.double("seconds")
    }

    /// What the node measured of a sandbox, for usage; nil where the kernel could not say.
    struct Measured {
        var cpuSeconds: Double?
        var peakMemoryMB: Int?
    }

    /// Seconds the database still gives a running sandbox (its timeout may have been extended);
    /// nil when it is no longer running here.
    func sandboxSecondsLeft(_ id: String) throws -> Double? {
        try pool.query("SELECT extract(epoch FROM expires_at - now()) AS left FROM sandboxes WHERE id = $1 AND state = 'running'",
                       [id]).first?.double("left")
    }

    func sandboxFinish(_ id: String, run: Run, reason: String, detail: String?, measured: Measured = Measured()) throws {
        try pool.query("SELECT node_sandbox_finish($1, $2, $3, $4, $5, $6, $7)",
                       [String(run.node), String(run.epoch), id, reason, detail,
                        measured.cpuSeconds.map { String($0) }, measured.peakMemoryMB.map { String($0) }])
    }

    /// Claims the pending commands of this node's running sandboxes.
    func execClaim(_ node: Int) throws -> [ClaimedExec] {
        try pool.query("""
            UPDATE execs e SET state = 'running', started_at = now()
            FROM sandboxes s
            WHERE s.id = e.sandbox_id AND s.node_id = $1 AND s.state = 'running' AND e.state = 'pending'
            RETURNING e.id, e.sandbox_id, e.args::text AS args, e.stdin, e.env::text AS env, e.cwd, e.output_limit,
                      e.merge_stderr, e.is_main, e.timeout_s
            """, [String(node)]).rows.compactMap { row in
            guard let id = row.int("id"), let sandbox = row["sandbox_id"], let args = row["args"] else { return nil }
            return ClaimedExec(id: id, sandboxID: sandbox, argsJSON: args, stdin: row.bytes("stdin") ?? [],
                               envJSON: row["env"] ?? "{}", cwd: row["cwd"] ?? "/", outputLimit: row.int("output_limit"),
                               mergeStderr: row.bool("merge_stderr") ?? false, isMain: row.bool("is_main") ?? false,
                               timeoutSeconds: row.double("timeout_s"))
        }
    }

    /// A command's end: its result, or `error` when it never got to run.
    struct ExecOutcome {
        var result: ExecResult? = nil
        var error: String? = nil
    }

    /// Appends what a running command wrote since the last piece (live output).
    func execOutputAppend(_ id: Int, run: Run, stdout: [UInt8], stderr: [UInt8]) throws {
        try pool.query("SELECT exec_output_append($1, $2, $3, $4, $5)",
                       [String(run.node), String(run.epoch), String(id), byteaParameter(stdout), byteaParameter(stderr)])
    }

    func execFinish(_ id: Int, run: Run, _ outcome: ExecOutcome) throws {
        let r = outcome.result
        func text<T>(_ value: T?) -> String? { value.map { "\($0)" } }
        try pool.query("SELECT exec_finish($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)", [
            String(run.node), String(run.epoch), String(id), byteaParameter(r?.stdout ?? []), byteaParameter(r?.stderr ?? []),
            text(r?.stdoutTruncated), text(r?.stderrTruncated), text(r?.exitCode), text(r?.signal), text(r?.oomKilled),
            outcome.error, text(r?.timedOut), text(r?.wallSeconds), text(r?.cpuUserSeconds), text(r?.cpuSystemSeconds),
            text(r?.peakMemoryBytes), text(r?.peakPids),
        ])
    }
}

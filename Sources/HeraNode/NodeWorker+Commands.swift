import Foundation
import HeraDB
import HeraSandbox
import HeraSupport

/// Running the commands the database queues for this node's sandboxes, and recording them.
extension NodeWorker {

    func claimExecs() throws {
        for exec in try store.execClaim(currentRun.node) {
            let thread = Thread { [self] in run(exec) }
            thread.start()
        }
    }

    static func startFailureCode(_ error: Error) -> Int32 {
        if case SandboxError.setupFailed(_, let code) = error, code == ENOENT { return 127 }
        return 126
    }

    static func startFailureReason(_ error: Error) -> String {
        switch error {
        case SandboxError.setupFailed(_, let code), SandboxError.system(_, let code): String(cString: strerror(code))
        default: "the sandbox could not start it"
        }
    }

    /// The commands of a destroyed sandbox record what they wrote before the sandbox's end is
    /// recorded (which closes any command still open); bounded, in case one is stuck.
    func waitForExecReports(_ id: String) {
        let deadline = Date(timeIntervalSinceNow: NodeWorker.execReportWait)
        condition.lock()
        while runningExecs[id, default: 0] > 0 && condition.wait(until: deadline) {}
        condition.unlock()
    }

    private func run(_ exec: NodeStore.ClaimedExec) {
        let outcome = runAndRecord(exec)
        if exec.isMain, outcome.error == nil, let result = outcome.result { endAfterMainCommand(exec.sandboxID, result) }
    }

    /// Runs a command and records its outcome, counted in `runningExecs` meanwhile.
    private func runAndRecord(_ exec: NodeStore.ClaimedExec) -> NodeStore.ExecOutcome {
        var outcome = NodeStore.ExecOutcome()
        condition.lock()
        let handle = local[exec.sandboxID]?.handle
        if handle != nil { runningExecs[exec.sandboxID, default: 0] += 1 }
        condition.unlock()
        defer {
            if handle != nil {
                condition.lock()
                runningExecs[exec.sandboxID]! -= 1
                if runningExecs[exec.sandboxID] == 0 { runningExecs[exec.sandboxID] = nil }
                condition.broadcast()
                condition.unlock()
            }
        }
        if let handle, let args = try? JSONDecoder().decode([String].self, from: Data(exec.argsJSON.utf8)),
           let env = try? JSONDecoder().decode([String: String].self, from: Data(exec.envJSON.utf8)) {
            let run = currentRun
            let live = LiveOutput { [store] stdout, stderr in try store.execOutputAppend(exec.id, run: run, stdout: stdout, stderr: stderr) }
            defer { live.end() }   // before the result is stored: no piece is written after it
            do {
                let request = ExecRequest(args: args, env: env, cwd: exec.cwd, stdin: exec.stdin,
                                          outputLimit: exec.outputLimit ?? config.outputLimit,
                                          mergeStderr: exec.mergeStderr, timeoutSeconds: exec.timeoutSeconds)
                outcome.result = try runner.exec(handle, request, observer: live.observe)
            } catch SandboxError.endedWithSandbox(let partial) {
                outcome.result = partial
                outcome.error = "the sandbox ended while the command ran"
            } catch SandboxError.sandboxGone {
                outcome.error = "the sandbox ended while the command ran"
            } catch {
                // As a shell reports it: 127 for a program that is not there, 126 for any other
                // failure to start (fork refused by the pids limit, …). No host detail leaks.
                Log.warn("a command could not start", ["exec": exec.id, "error": "\(error)"])
                outcome.result = ExecResult(
                    stdout: [], stderr: Array("hera: cannot run \(args[0]): \(NodeWorker.startFailureReason(error))\n".utf8),
                    stdoutTruncated: false, stderrTruncated: false, exitCode: NodeWorker.startFailureCode(error),
                    signal: nil, oomKilled: false, wallSeconds: 0)
            }
        } else {
            outcome.error = handle == nil ? "the sandbox is not running on its node" : "bad arguments"
        }
        do { try store.execFinish(exec.id, run: currentRun, outcome) } catch {
            Log.error("could not record a command's result", ["exec": exec.id, "error": "\(error)"])
        }
        return outcome
    }

    /// The main command ended, so does its sandbox: `oom` when the kernel killed it for memory,
    /// else `exited` with its code or signal.
    private func endAfterMainCommand(_ id: String, _ outcome: ExecResult) {
        condition.lock()
        let sandbox = local.removeValue(forKey: id)
        condition.unlock()
        guard let sandbox else { return }   // expired or killed meanwhile: that ending stands
        let detail = outcome.signal.map { "signal \($0)" } ?? "code \(outcome.exitCode ?? -1)"
        end(id, sandbox.handle, reason: outcome.oomKilled ? "oom" : "exited", detail: detail)
    }
}

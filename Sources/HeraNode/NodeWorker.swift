import Foundation
import HeraDB
import HeraSandbox
import HeraSupport

/// `hera node`: registers the machine, heartbeats, and makes the sandboxes running here match
/// what the database says — starting the assigned ones, ending the killed and the expired ones,
/// running their commands — and writes every outcome back. Woken by NOTIFY; polls as a fallback.
public final class NodeWorker: @unchecked Sendable {
    let config: NodeConfig
    let store: NodeStore
    let runner: SandboxRunner
    let templates: TemplateStore
    let metrics = NodeMetrics()
    private var listener: PGListener!
    /// This node's current run (id and epoch); a new one after being fenced off.
    private var run = NodeStore.Run(node: 0, epoch: 0)

    struct Local {
        let handle: SandboxHandle
        var deadline: Date
    }

    let condition = NSCondition()
    private var wakeRequested = false
    private var stopping = false
    private var stopped = false
    var local: [String: Local] = [:]
    private var starting: Set<String> = []
    /// Sandboxes being saved as templates (then ended) by a thread of their own.
    var saving: Set<String> = []
    private var templateScanRequested = true
    /// Commands being run, by sandbox: a sandbox's end waits for them to record their output.
    var runningExecs: [String: Int] = [:]
    static let execReportWait = 2.0
    /// Endings not yet written because the database was unreachable; retried every round.
    private var unreported: [String: Ending] = [:]
    /// Sandboxes whose removal failed (a process slow to die): retried now and then.
    private var unremoved: [String: SandboxHandle] = [:]

    private struct Ending {
        let reason: String
        let detail: String?
        let measured: NodeStore.Measured
    }

    public init(config: NodeConfig) throws {
        guard NodeConfig.isValidName(config.name) else {
            throw SandboxError.invalidSpec("node name \(config.name) must be 1-64 letters, digits, '_', '.' or '-'")
        }
        self.config = config
        store = NodeStore(pool: PGPool(conninfo: config.databaseURL, size: 8))
        try FileManager.default.createDirectory(atPath: config.scratchRoot, withIntermediateDirectories: true)
        runner = try SandboxRunner(launcherCommand: config.launcherCommand, scratchRoot: config.scratchRoot,
                                   cgroupParent: config.effectiveCgroupParent)
        templates = try TemplateStore(directory: config.templateDirectory)
    }

    public var id: Int { currentRun.node }

    var currentRun: NodeStore.Run {
        condition.lock()
        defer { condition.unlock() }
        return run
    }

    /// Checks that this machine can enforce the limits, registers, cleans what an earlier run
    /// of this node left behind, and starts working.
    public func start() throws {
        let enforced: SandboxRunner.Enforced
        do {
            enforced = try runner.selfCheck()
        } catch {
            throw SandboxError.cgroup("""
                this machine cannot enforce sandbox limits (\(error)); a node needs the memory (with swap \
                accounting), pids, cpu and cpuacct controllers of cgroup v1, or cgroup v2 with them delegated
                """)
        }
        let registered = try store.nodeRegister(config)
        condition.lock()
        run = registered
        condition.unlock()
        let leftovers = try runner.removeLeftovers()
        try templates.removePartials()
        try reportTemplates()
        // Sandboxes this node was running before it restarted died with it (or were just removed).
        for sandbox in try store.sandboxesLive(registered.node) where sandbox.state == "running" {
            try store.sandboxFinish(sandbox.id, run: registered, reason: "lost", detail: "the node restarted")
        }
        Log.info("node registered", ["node_id": registered.node, "epoch": registered.epoch, "name": config.name, "type": config.nodeType,
                                     "memory_mb": config.memoryMB, "slots": config.slots,
                                     "cgroup_version": runner.cgroupVersion, "cpu_cap_enforced": enforced.cpuCap, "leftovers_removed": leftovers])
        listener = PGListener(conninfo: config.databaseURL, channel: "hera_node_\(registered.node)", onError: { error in
            Log.warn("node listen connection failed; polling", ["error": "\(error)"])
        }, onNotify: { [weak self] payloads in self?.wake(scanningTemplates: payloads.contains("templates")) })
        listener.start()
        let thread = Thread { [self] in supervise() }
        thread.name = "hera-node"
        thread.start()
    }

    /// Ends every sandbox on this node (reason `lost`, detail "the node stopped") and stops.
    /// Sandboxes still being started are undone first; assigned ones stay assigned.
    public func stop() {
        condition.lock()
        stopping = true
        condition.broadcast()
        while !stopped || !starting.isEmpty || !saving.isEmpty { condition.wait() }
        let all = local
        local.removeAll()
        condition.unlock()
        listener.stop()
        for (id, sandbox) in all { end(id, sandbox.handle, reason: "lost", detail: "the node stopped") }
        retryRemovals()
        runner.removeCgroupParent()
    }

    /// This node's metrics in Prometheus text format.
    public func metricsText() -> String {
        metrics.render(running: condition.withLock { local.count })
    }

    func wake(scanningTemplates: Bool = false) {
        condition.lock()
        wakeRequested = true
        if scanningTemplates { templateScanRequested = true }
        condition.signal()
        condition.unlock()
    }

    // MARK: The supervising loop

    private func supervise() {
        var lastHeartbeat = Date.distantPast
        var lastTemplateScan = Date(), lastRemovalRetry = Date()
        while true {
            condition.lock()
            if stopping {
                stopped = true
                condition.broadcast()
                condition.unlock()
                return
            }
            condition.unlock()
            do {
                if -lastHeartbeat.timeIntervalSinceNow >= NodeConfig.heartbeatInterval {
                    if try !store.nodeHeartbeat(currentRun) { try rejoinAfterFencing() }
                    metrics.heartbeatSucceeded()
                    lastHeartbeat = Date()
                }
                let scanDue = -lastTemplateScan.timeIntervalSinceNow >= NodeConfig.templateScanInterval
                if condition.withLock({ defer { templateScanRequested = false }; return templateScanRequested }) || scanDue {
                    lastTemplateScan = Date()
                    try reportTemplates()
                }
                retryUnreported()
                try reconcile()
                try claimExecs()
            } catch {
                Log.warn("node round failed; retrying", ["error": "\(error)"])
            }
            endExpired()
            // Each attempt may take the teardown's whole bound: not every round.
            if -lastRemovalRetry.timeIntervalSinceNow >= NodeConfig.removalRetryInterval {
                retryRemovals()
                lastRemovalRetry = Date()
            }
            sleepUntilWoken()
        }
    }

    /// This run was declared lost (its heartbeats stopped reaching the database) or replaced:
    /// its sandboxes are no longer its own. Kill them all here, then register as a new run.
    private func rejoinAfterFencing() throws {
        condition.lock()
        let all = local
        local.removeAll()
        unreported.removeAll()
        condition.unlock()
        Log.warn("this node run was fenced off; killing its sandboxes and registering again", ["sandboxes": all.count])
        for sandbox in all.values { try? runner.destroy(sandbox.handle) }
        let registered = try store.nodeRegister(config)
        condition.lock()
        run = registered
        templateScanRequested = true
        condition.unlock()
    }

    private func sleepUntilWoken() {
        condition.lock()
        let nextExpiry = local.values.map(\.deadline).min() ?? .distantFuture
        let wakeAt = min(nextExpiry, Date(timeIntervalSinceNow: NodeConfig.pollInterval))
        while !wakeRequested && !stopping && Date() < wakeAt { _ = condition.wait(until: wakeAt) }
        wakeRequested = false
        condition.unlock()
    }

    /// Makes this node's sandboxes match the database's view of them.
    private func reconcile() throws {
        let live = try store.sandboxesLive(currentRun.node)
        let liveIDs = Set(live.map(\.id))
        for sandbox in live {
            condition.lock()
            let here = local[sandbox.id]
            let isBusy = starting.contains(sandbox.id) || saving.contains(sandbox.id)
            let isUnreported = unreported[sandbox.id] != nil
            if sandbox.killRequested && here != nil { local[sandbox.id] = nil }
            // The timeout may have been changed through the API.
            if let secondsLeft = sandbox.secondsLeft, here != nil, !sandbox.killRequested {
                local[sandbox.id]?.deadline = Date(timeIntervalSinceNow: secondsLeft)
            }
            if !isBusy && here == nil && !isUnreported && sandbox.state == "assigned" && !sandbox.killRequested {
                starting.insert(sandbox.id)
            }
            let saveAs = here != nil ? sandbox.saveAsTemplate : nil
            if saveAs != nil { saving.insert(sandbox.id) }
            condition.unlock()
            if isBusy || isUnreported { continue }
            if let saveAs, let handle = here?.handle {
                let thread = Thread { [self] in saveAndEnd(sandbox.id, handle, template: saveAs) }
                thread.start()
            } else if sandbox.killRequested {
                end(sandbox.id, here?.handle, reason: "killed", detail: nil)
            } else if here == nil && sandbox.state == "assigned" {
                let thread = Thread { [self] in launch(sandbox) }
                thread.start()
            } else if here == nil && sandbox.state == "running" {
                end(sandbox.id, nil, reason: "lost", detail: "not running on its node")
            }
        }
        // Anything running here that the database no longer places here must not go on running.
        condition.lock()
        let strays = local.filter { !liveIDs.contains($0.key) }
        for id in strays.keys { local[id] = nil }
        condition.unlock()
        for (id, sandbox) in strays {
            Log.warn("stopping a sandbox the database no longer places on this node", ["sandbox": id])
            try? runner.destroy(sandbox.handle)
        }
    }

    private func launch(_ sandbox: NodeStore.LiveSandbox) {
        let spec = SandboxSpec(id: sandbox.id, rootfs: sandbox.rootfs, hostname: "sbx-" + sandbox.id.prefix(8),
                               limits: SandboxLimits(memoryMB: sandbox.memoryMB, pidsMax: config.pidsMax,
                                                     scratchMB: config.scratchMB, cpuMaxCores: config.cpuMaxCores))
        let handle: SandboxHandle
        do {
            handle = try runner.start(spec)
        } catch {
            Log.warn("sandbox failed to start", ["sandbox": sandbox.id, "error": "\(error)"])
            metrics.setupFailed(error)
            condition.lock()
            starting.remove(sandbox.id)
            condition.broadcast()
            condition.unlock()
            end(sandbox.id, nil, reason: "failed", detail: "\(error)")
            return
        }
        condition.lock()
        let isStopping = stopping
        if !isStopping { local[sandbox.id] = Local(handle: handle, deadline: .distantFuture) }
        starting.remove(sandbox.id)
        condition.broadcast()
        condition.unlock()
        if isStopping {
            try? runner.destroy(handle)
            return
        }
        let seconds: Double?
        do {
            seconds = try store.sandboxMarkRunning(sandbox.id, run: currentRun)
        } catch {
            Log.warn("could not mark sandbox running; undoing the start", ["sandbox": sandbox.id, "error": "\(error)"])
            seconds = nil
        }
        condition.lock()
        if let seconds {
            local[sandbox.id]?.deadline = Date(timeIntervalSinceNow: seconds)
            wakeRequested = true   // commands may already wait for it
            condition.signal()
        } else {
            // Killed or ended while starting, or the database was unreachable (then it is still
            // assigned and the next round starts it again).
            local[sandbox.id] = nil
        }
        condition.unlock()
        if seconds == nil { try? runner.destroy(handle) }
    }

    /// Ends the sandboxes past their deadline — unless the database has just extended one
    /// (then the deadline moves). Without the database, the local deadline is enforced as is.
    private func endExpired() {
        condition.lock()
        let now = Date()
        let due = local.filter { $0.value.deadline <= now }
        condition.unlock()
        for (id, _) in due {
            let left = (try? store.sandboxSecondsLeft(id)) ?? 0
            condition.lock()
            let sandbox = local[id]
            if left > NodeWorker.expiryTolerance {
                local[id]?.deadline = Date(timeIntervalSinceNow: left)
            } else {
                local[id] = nil
            }
            condition.unlock()
            if let sandbox, left <= NodeWorker.expiryTolerance { end(id, sandbox.handle, reason: "expired", detail: nil) }
        }
    }

    /// A deadline this close is reached: rounding between the clocks must not keep a sandbox alive.
    static let expiryTolerance = 0.05

    /// Stops a sandbox's processes (if it has any here), then records its end and releases its capacity.
    /// Records what was measured of it (CPU time, peak memory) for usage.
    func end(_ id: String, _ handle: SandboxHandle?, reason: String, detail: String?) {
        finish(id, reason: reason, detail: detail, measured: handle.map { destroy(id, $0) } ?? NodeStore.Measured())
    }

    /// Stops a sandbox's processes and removes it here; returns what was measured of it.
    func destroy(_ id: String, _ handle: SandboxHandle) -> NodeStore.Measured {
        var measured = NodeStore.Measured()
        do { try runner.destroy(handle) } catch {
            Log.error("could not fully remove a sandbox; will retry", ["sandbox": id, "error": "\(error)"])
            metrics.teardownFailed(error)
            condition.withLock { unremoved[id] = handle }
        }
        waitForExecReports(id)
        if let stats = handle.finalStats {
            if let user = stats.cpuUserSeconds, let system = stats.cpuSystemSeconds { measured.cpuSeconds = user + system }
            measured.peakMemoryMB = stats.peakMemoryBytes.map { Int(($0 + (1 << 20) - 1) >> 20) }
        }
        return measured
    }

    /// Records a sandbox's end (retried each round while the database is unreachable).
    func finish(_ id: String, reason: String, detail: String?, measured: NodeStore.Measured) {
        let ending = Ending(reason: reason, detail: detail, measured: measured)
        do {
            try record(id, ending)
        } catch {
            Log.warn("could not record a sandbox's end; will retry", ["sandbox": id, "error": "\(error)"])
            condition.lock()
            unreported[id] = ending
            condition.unlock()
        }
    }

    private func record(_ id: String, _ ending: Ending) throws {
        try store.sandboxFinish(id, run: currentRun, reason: ending.reason, detail: ending.detail, measured: ending.measured)
    }

    private func retryRemovals() {
        for (id, handle) in condition.withLock({ unremoved }) where (try? runner.destroy(handle)) != nil {
            condition.withLock { unremoved[id] = nil }
            Log.info("removed a sandbox whose removal had failed", ["sandbox": id])
        }
    }

    private func retryUnreported() {
        condition.lock()
        let pending = unreported
        condition.unlock()
        for (id, ending) in pending {
            guard (try? record(id, ending)) != nil else { return }
            condition.lock()
            unreported[id] = nil
            condition.unlock()
        }
    }
}

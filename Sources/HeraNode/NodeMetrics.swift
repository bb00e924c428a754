import Foundation
import HeraSandbox
import HeraSupport

/// What a node counts, served on its local metrics port (`hera node --metrics-port`).
final class NodeMetrics: @unchecked Sendable {
    let registry = Metrics()
    private let lock = NSLock()
    private var lastHeartbeat: Date?

    init() {
        registry.gauge("hera_node_sandboxes_running", help: "Sandboxes running on this node.")
        registry.counter("hera_node_sandbox_setup_failures_total", help: "Sandboxes that could not start (ended failed).")
        registry.counter("hera_node_teardown_errors_total", help: "Sandboxes that could not be fully removed.")
        registry.counter("hera_node_cgroup_errors_total", help: "Cgroup errors while starting or removing sandboxes.")
        registry.gauge("hera_node_heartbeat_age_seconds",
                       help: "Seconds since the last heartbeat PostgreSQL accepted (-1 before the first).")
    }

    func heartbeatSucceeded() {
        lock.withLock { lastHeartbeat = Date() }
    }

    func setupFailed(_ error: Error) {
        registry.increment("hera_node_sandbox_setup_failures_total")
        countIfCgroup(error)
    }

    func teardownFailed(_ error: Error) {
        registry.increment("hera_node_teardown_errors_total")
        countIfCgroup(error)
    }

    func render(running: Int) -> String {
        registry.set("hera_node_sandboxes_running", to: Double(running))
        let age = lock.withLock { lastHeartbeat.map { -$0.timeIntervalSinceNow } } ?? -1
        registry.set("hera_node_heartbeat_age_seconds", to: (age * 1000).rounded() / 1000)
        return registry.render()
    }

    private func countIfCgroup(_ error: Error) {
        if case SandboxError.cgroup = error { registry.increment("hera_node_cgroup_errors_total") }
    }
}

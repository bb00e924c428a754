import Foundation

extension SandboxRunner {
    /// Limits a node enforces beyond the ones it must (memory without swap, pids, CPU weight).
    public struct Enforced: Sendable, Equatable {
        public var cpuCap: Bool
    }

    /// Creates and removes a probe cgroup with every limit set, so a node that cannot enforce
    /// them finds out before it takes work. Throws when the required limits cannot be set;
    /// reports which optional ones can.
    public func selfCheck() throws -> Enforced {
        let required = SandboxLimits(memoryMB: 16, pidsMax: 8)
        let probe = UUID().uuidString.lowercased()
        try cgroups.create(sandbox: probe, limits: required)
        try cgroups.remove(sandbox: probe)
        var capped = required
        capped.cpuMaxCores = 1
        let cpuCap = (try? cgroups.create(sandbox: probe, limits: capped)) != nil
        try? cgroups.remove(sandbox: probe)
        return Enforced(cpuCap: cpuCap)
    }
}

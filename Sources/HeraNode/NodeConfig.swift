import Foundation
import HeraSupport

/// Node settings; each has a flag and a HERA_* environment variable (see `hera node --help`).
/// Capacity defaults are read off the machine.
public struct NodeConfig: Sendable {
    /// Memory kept back for the host when the capacity is taken from the machine.
    public static let hostReserveMB = 512
    public static let slotsPerCore = 16
    public static let defaultPidsMax = 256
    public static let defaultScratchMB = 64
    public static let defaultOutputLimit = 1 << 20
    public static let pollInterval = 1.0
    public static let heartbeatInterval = 2.0
    public static let defaultTemplateDirectory = "/var/lib/hera/templates"
    /// How often the node looks for the templates it holds (also when told to by NOTIFY).
    public static let templateScanInterval = 10.0
    /// How often the removal of a sandbox that could not be fully removed is tried again.
    public static let removalRetryInterval = 30.0

    public var name: String
    /// How operators reach the machine (shown by GET /cluster/); default: the host name.
    public var address: String
    public var nodeType = "default"
    public var memoryMB: Int
    public var slots: Int
    public var databaseURL = ""
    /// How to run the launcher: the `hera` executable followed by `__launch`.
    public var launcherCommand: [String]
    public var scratchRoot = "/var/lib/hera/scratch"
    /// The node's template store: templates made from sandboxes here, and imported ones.
    public var templateDirectory = NodeConfig.defaultTemplateDirectory
    /// nil: "hera/<node name>" under the node's own cgroup, so two nodes on one host (or two
    /// `hera dev` clusters) never touch each other's sandboxes.
    public var cgroupParent: String? = nil
    public var pidsMax = NodeConfig.defaultPidsMax
    public var scratchMB = NodeConfig.defaultScratchMB
    public var outputLimit = NodeConfig.defaultOutputLimit
    /// CPU cap per sandbox, in cores (nil: none; CPU weight still shares the machine fairly).
    public var cpuMaxCores: Double? = nil

    public init(launcherCommand: [String]) {
        self.launcherCommand = launcherCommand
        name = ProcessInfo.processInfo.hostName
        address = name
        memoryMB = max(0, NodeConfig.machineMemoryMB() - NodeConfig.hostReserveMB)
        slots = max(1, ProcessInfo.processInfo.activeProcessorCount * NodeConfig.slotsPerCore)
    }

    /// The cgroup parent actually used.
    public var effectiveCgroupParent: String { cgroupParent ?? "hera/" + name }

    /// Node names go into cgroup paths: 1-64 letters, digits, '_', '.' or '-', not starting with '.' or '-'.
    public static func isValidName(_ name: String) -> Bool {
        Names.isValid(name)
    }

    /// MemTotal from /proc/meminfo, in MB.
    static func machineMemoryMB() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8) else { return 0 }
        for line in text.split(separator: "\n") where line.hasPrefix("MemTotal:") {
            let kilobytes = line.split(separator: " ").compactMap { Int($0) }.first ?? 0
            return kilobytes / 1024
        }
        return 0
    }
}

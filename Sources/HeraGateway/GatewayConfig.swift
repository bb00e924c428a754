/// Gateway settings; each has a flag and a HERA_* environment variable (see `hera gateway --help`).
public struct GatewayConfig: Sendable {
    public static let defaultPort = 8080
    public static let defaultPoolSize = 16
    public static let defaultMaxTimeoutSeconds = 86_400
    public static let maxMemoryMB = 1_048_576
    /// How long a sync exec may wait for its command, at most.
    public static let defaultMaxExecWaitSeconds = 3_600
    /// How long `kill` waits for the node to confirm before answering anyway.
    public static let killWaitSeconds = 10.0
    /// Longest a statement may take before the request fails with ServiceUnavailable.
    public static let queryTimeoutSeconds = 10.0
    /// `POST /sandbox/:id/wait`: default and largest `timeout`.
    public static let defaultWaitSeconds = 30
    public static let maxWaitSeconds = 600

    public var host = "127.0.0.1"
    public var port = GatewayConfig.defaultPort
    public var databaseURL = ""
    public var poolSize = GatewayConfig.defaultPoolSize
    public var maxTimeoutSeconds = GatewayConfig.defaultMaxTimeoutSeconds
    public var maxExecWaitSeconds = GatewayConfig.defaultMaxExecWaitSeconds
    /// Queued requests one account may have at once (QueueFull beyond).
    public var maxQueuedPerAccount = 100
    /// Templates one account may own (each saved one is a full copy on a node's disk).
    public var maxTemplatesPerAccount = 100
    /// Disk an account's saved templates may take before it may save no more.
    public var maxTemplateMBPerAccount = 10_240
    /// Files and directories an account's saved templates may hold before it may save no more.
    public var maxTemplateFilesPerAccount = 1_000_000
    /// How long a passed-over queued request lets later, smaller ones go first (see queue_assign).
    public var queueBackfillLimitSeconds = 30.0
    /// Webhook URLs may resolve to loopback and private addresses (for local receivers).
    public var webhookAllowPrivate = false

    public init() {}
}

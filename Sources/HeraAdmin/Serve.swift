import Foundation
import HeraGateway
import HeraNode
import HeraSupport

/// The long-running commands: `hera gateway` and `hera node`.
enum Serve {
    static let gatewayHelp = """
        hera gateway [flags]                          (each flag also HERA_<FLAG>, e.g. HERA_PORT)
          --host ADDR            listen address (default 127.0.0.1)
          --port N               listen port (default \(GatewayConfig.defaultPort))
          --database-url URL     libpq connection string (default: PG* variables)
          --pool-size N          database connections (default \(GatewayConfig.defaultPoolSize))
          --max-timeout S        largest sandbox timeout a client may ask for (default \(GatewayConfig.defaultMaxTimeoutSeconds))
          --max-exec-wait S      longest a sync exec waits for its command (default \(GatewayConfig.defaultMaxExecWaitSeconds))
          --drain-seconds S      on SIGTERM, how long /readyz answers 503 while requests are still
                                 served, before the gateway stops accepting (default 5)
          --stop-grace S         then, how long requests in flight may finish (default 10)
          --max-queued N         queued (async) requests one account may have (default 100)
          --max-templates N      templates one account may own, counting saved ones (default 100)
          --max-template-mb N    disk an account's saved templates may take before it may save
                                 no more (default 10240)
          --max-template-files N files they may hold, likewise (default 1000000)
          --queue-backfill-limit S
                                 how long a queued request that does not fit lets later ones
                                 that fit go first (default 30)
          --webhook-allow-private
                                 let webhook URLs reach loopback and private addresses
        """

    static let nodeHelp = """
        hera node [flags]                             (each flag also HERA_<FLAG>)
          --name NAME            node name, unique in the cluster (default: host name)
          --node-type TYPE       node type clients can ask for (default "default")
          --address ADDR         how operators reach this machine, shown by GET /cluster/ (default: host name)
          --memory-mb N          memory offered to sandboxes (default: MemTotal - \(NodeConfig.hostReserveMB) MB)
          --slots N              most sandboxes at once (default: \(NodeConfig.slotsPerCore) per CPU)
          --database-url URL     libpq connection string (default: PG* variables)
          --scratch-root DIR     per-sandbox scratch directories (default /var/lib/hera/scratch)
          --template-dir DIR     template store: templates saved from sandboxes here, imported ones
                                 (default /var/lib/hera/templates; kept mode 0700)
          --cgroup-parent PATH   cgroup under which sandboxes go: "/a/b" from each hierarchy's root,
                                 "a/b" under the node's own cgroup (default: hera/<name>)
          --pids-max N           processes per sandbox (default \(NodeConfig.defaultPidsMax))
          --scratch-mb N         writable layer per sandbox (default \(NodeConfig.defaultScratchMB))
          --cpu-max-cores C      CPU cap per sandbox, in cores (default: none; CPU weight shares fairly)
          --metrics-port N       serve GET /metrics (Prometheus text) on this port (default: off)
          --metrics-host ADDR    address for it (default 127.0.0.1)
        Runs as root (cgroups, namespaces, mounts).
        """

    static func gatewayConfig(_ settings: Settings) throws -> GatewayConfig {
        var config = GatewayConfig()
        config.host = settings.string("host", default: config.host)
        config.port = try settings.int("port", default: config.port)
        config.databaseURL = settings.databaseURL
        config.poolSize = try settings.int("pool-size", default: config.poolSize)
        config.maxTimeoutSeconds = try settings.int("max-timeout", default: config.maxTimeoutSeconds)
        config.maxExecWaitSeconds = try settings.int("max-exec-wait", default: config.maxExecWaitSeconds)
        config.maxQueuedPerAccount = try settings.int("max-queued", default: config.maxQueuedPerAccount)
        config.maxTemplatesPerAccount = try settings.int("max-templates", default: config.maxTemplatesPerAccount)
        config.maxTemplateMBPerAccount = try settings.int("max-template-mb", default: config.maxTemplateMBPerAccount)
        config.maxTemplateFilesPerAccount = try settings.int("max-template-files", default: config.maxTemplateFilesPerAccount)
        config.queueBackfillLimitSeconds = try settings.double("queue-backfill-limit", default: config.queueBackfillLimitSeconds)
        config.webhookAllowPrivate = settings.bool("webhook-allow-private")
        guard config.poolSize > 0, config.maxTimeoutSeconds > 0, config.maxExecWaitSeconds > 0, config.maxQueuedPerAccount >= 0,
              config.maxTemplatesPerAccount >= 0, (0...Int(Int32.max)).contains(config.maxTemplateMBPerAccount),
              (0...Int(Int32.max)).contains(config.maxTemplateFilesPerAccount),
              config.queueBackfillLimitSeconds >= 0 else {
            throw UsageError("--pool-size, --max-timeout and --max-exec-wait must be positive; --max-queued, --max-templates, --max-template-mb, --max-template-files and --queue-backfill-limit not negative")
        }
        return config
    }

    static func nodeConfig(_ settings: Settings) throws -> NodeConfig {
        var config = NodeConfig(launcherCommand: [launcherPath(), "__launch"])
        config.name = settings.string("name", default: config.name)
        config.nodeType = settings.string("node-type", default: config.nodeType)
        config.address = settings.string("address", default: config.address)
        config.memoryMB = try settings.int("memory-mb", default: config.memoryMB)
        config.slots = try settings.int("slots", default: config.slots)
        config.databaseURL = settings.databaseURL
        config.scratchRoot = settings.string("scratch-root", default: config.scratchRoot)
        config.templateDirectory = settings.string("template-dir", default: config.templateDirectory)
        config.cgroupParent = settings.string("cgroup-parent")
        config.pidsMax = try settings.int("pids-max", default: config.pidsMax)
        config.scratchMB = try settings.int("scratch-mb", default: config.scratchMB)
        if settings.has("cpu-max-cores") {
            let cores = try settings.double("cpu-max-cores", default: 0)
            guard cores >= 0.01 && cores <= 4096 else { throw UsageError("--cpu-max-cores must be from 0.01 to 4096") }
            config.cpuMaxCores = cores
        }
        guard config.memoryMB >= 0, config.slots >= 0, config.pidsMax > 0, config.scratchMB > 0 else {
            throw UsageError("--memory-mb and --slots must not be negative; --pids-max and --scratch-mb must be positive")
        }
        return config
    }

    /// This very executable: the launcher is `hera __launch`.
    static func launcherPath() -> String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }

    static func gateway(_ settings: Settings) throws {
        let grace = try settings.double("stop-grace", default: 10)
        let drain = try settings.double("drain-seconds", default: 5)
        Signals.blockTermination()
        let gateway = try Gateway(config: try gatewayConfig(settings))
        gateway.start()
        let signal = Signals.waitForTermination()
        gateway.drain(seconds: drain)
        Log.info("stopping gateway", ["signal": signal, "grace_s": grace])
        gateway.stop(grace: grace)
    }

    static func node(_ settings: Settings) throws {
        Signals.blockTermination()
        let metricsPort = settings.has("metrics-port") ? try settings.int("metrics-port", default: 0) : nil
        let node = try NodeWorker(config: try nodeConfig(settings))
        try node.start()
        let metricsServer = try metricsPort.map { port in
            try MetricsEndpoint.start(host: settings.string("metrics-host", default: "127.0.0.1"), port: port) { node.metricsText() }
        }
        let signal = Signals.waitForTermination()
        Log.info("stopping node; ending its sandboxes", ["signal": signal])
        metricsServer?.stop(grace: 1)
        node.stop()
    }
}

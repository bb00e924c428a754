import Foundation
import HeraDB
import HeraGateway
import HeraNode
import HeraSandbox
import HeraSupport

/// `hera dev`: a whole Hera on this machine for trying it out — a private PostgreSQL, the
/// migrations, a demo account, the busybox template, a gateway and a node — all stopped by Ctrl-C.
enum DevCluster {
    static let help = """
        hera dev [--state-dir DIR] [--port N] [--pg-port N]
          --state-dir DIR   PostgreSQL data, templates and scratch (default /var/tmp/hera-dev)
          --port N          the gateway's port on 127.0.0.1 (default 8080)
          --pg-port N       PostgreSQL's port on 127.0.0.1 (default 55432)
        Needs root (the node uses cgroups and namespaces). Prints HERA_URL, HERA_ACCOUNT,
        HERA_API_KEY, HERA_TEMPLATE and HERA_DATABASE_URL lines, then example curl commands.
        """

    static let account = "demo"
    static let template = "busybox"

    static func run(_ settings: Settings) throws {
        guard getuid() == 0 else { throw UsageError("hera dev needs root: its node uses cgroups and namespaces") }
        let stateDirectory = settings.string("state-dir", default: "/var/tmp/hera-dev")
        let port = try settings.int("port", default: 8080)
        let pgPort = try settings.int("pg-port", default: 55432)
        Signals.blockTermination()

        let postgres = try LocalPostgres(directory: stateDirectory + "/postgres", port: pgPort)
        try postgres.start()
        defer {
            postgres.stop()
            Log.info("the dev cluster stopped")
        }
        let connection = try PGConnection(postgres.url)
        try Migrator(directory: try SQLDirectory.find(settings)).migrate(connection)
        let key = try Admin.accountCreate(connection, name: account, replacingKey: true)
        let rootfs = try TemplateStore(directory: stateDirectory + "/templates").directory + "/busybox"
        try DefaultTemplate.build(at: rootfs)
        _ = try Admin.templateAdd(connection, name: template, rootfs: rootfs, isPublic: true, minMemoryMB: 16)

        var gatewayConfig = GatewayConfig()
        gatewayConfig.port = port
        gatewayConfig.databaseURL = postgres.url
        gatewayConfig.webhookAllowPrivate = true   // so a receiver on this machine works
        let gateway = try Gateway(config: gatewayConfig)
        gateway.start()
        var nodeConfig = NodeConfig(launcherCommand: [Serve.launcherPath(), "__launch"])
        nodeConfig.databaseURL = postgres.url
        nodeConfig.scratchRoot = stateDirectory + "/scratch"
        nodeConfig.templateDirectory = stateDirectory + "/templates"
        nodeConfig.name = "dev-\(gateway.port)"
        let node = try NodeWorker(config: nodeConfig)
        try node.start()

        let url = "http://127.0.0.1:\(gateway.port)"
        FileHandle.standardOutput.write(Data("""
            HERA_URL=\(url)
            HERA_ACCOUNT=\(account)
            HERA_API_KEY=\(key)
            HERA_TEMPLATE=\(template)
            HERA_DATABASE_URL=\(postgres.url)
            HERA_TEMPLATE_DIR=\(stateDirectory)/templates
            # create a sandbox (256 MB for 300 s):
            curl -s -u \(account):\(key) -d memory=256 -d timeout=300 -d template=\(template) \(url)/sandbox/
            # run a command in it (put the id from the answer above in place of ID):
            curl -s -u \(account):\(key) --data-urlencode 'command=echo hello from $(hostname); uname -a' -d sync=true \(url)/sandbox/ID/exec
            # Ctrl-C stops everything.

            """.utf8))
        Signals.waitForTermination()
        Log.info("stopping the dev cluster")
        gateway.stop(grace: 5)
        node.stop()
    }
}

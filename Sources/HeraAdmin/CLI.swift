import Foundation
import HeraSupport

/// `hera <command> …`: the whole command line. `main.swift` only calls `CLI.run`.
public enum CLI {
    static let usage = """
        usage: hera <command> [flags]

          dev                     a whole local cluster: PostgreSQL, migrations, demo account,
                                  default template, a gateway and a node (Ctrl-C stops it all)
          gateway                 serve the HTTP API
          node                    run the sandboxes this machine is given
          migrate                 apply the SQL migrations in sql/
          account create NAME     create an account; prints its API key
          template add NAME       register a template (a root filesystem directory on the nodes)
          template build-default DIR
                                  build the busybox root filesystem used by the default template
          bench                   latency and throughput of a running cluster (deploy/scripts/bench)

        Every flag --some-flag can also be given as the environment variable HERA_SOME_FLAG.
        The database is --database-url / HERA_DATABASE_URL (a libpq connection string), else
        the standard PG* variables. `hera <command> --help` lists a command's flags.
        """

    public static func run(_ arguments: [String]) -> Int32 {
        do {
            let settings = try Settings(arguments: Array(arguments.dropFirst(1)))
            let words = settings.positional
            if settings.bool("help") || words.isEmpty {
                print(help(for: words.first))
                return words.isEmpty && !settings.bool("help") ? 2 : 0
            }
            switch (words[0], words.dropFirst().first) {
            case ("dev", _): try DevCluster.run(settings)
            case ("gateway", _): try Serve.gateway(settings)
            case ("node", _): try Serve.node(settings)
            case ("migrate", _): try Admin.migrate(settings)
            case ("bench", _): try Bench.run(settings)
            case ("account", "create"): try Admin.accountCreate(settings)
            case ("template", "add"): try Admin.templateAdd(settings)
            case ("template", "build-default"): try Admin.templateBuildDefault(settings)
            default: throw UsageError("unknown command: \(words.joined(separator: " ")) (try hera --help)")
            }
            return 0
        } catch let error as UsageError {
            FileHandle.standardError.write(Data("hera: \(error.description)\n".utf8))
            return 2
        } catch {
            FileHandle.standardError.write(Data("hera: \(error)\n".utf8))
            return 1
        }
    }

    static func help(for command: String?) -> String {
        switch command {
        case "gateway": return Serve.gatewayHelp
        case "node": return Serve.nodeHelp
        case "dev": return DevCluster.help
        case "bench": return Bench.help
        case "migrate", "account", "template": return Admin.help
        default: return usage
        }
    }
}

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
          bench                   latency and throughput of a running cluster (deploy/scripts/bench)
          account VERB            \(verbNames("account"))
          template VERB           \(verbNames("template"))
          node VERB               \(verbNames("node"))
          report VERB             \(verbNames("report"))

        Every flag --some-flag can also be given as the environment variable HERA_SOME_FLAG.
        The database is --database-url / HERA_DATABASE_URL (a libpq connection string), else
        the standard PG* variables. `hera <command> --help` lists a command's flags and verbs;
        `hera <command> VERB --help` explains one verb.
        """

    static let groups = ["account", "template", "node", "report"]

    public static func run(_ arguments: [String]) -> Int32 {
        do {
            let settings = try Settings(arguments: Array(arguments.dropFirst(1)))
            let words = settings.positional
            let verb = words.count >= 2 ? Verbs.find(group: words[0], name: words[1]) : nil
            if settings.bool("help") || words.isEmpty {
                print(verb?.help ?? help(for: words.first))
                return words.isEmpty && !settings.bool("help") ? 2 : 0
            }
            if let verb {
                try verb.run(Invocation(verb: verb, settings: settings))
                return 0
            }
            switch (words[0], words.count) {
            case ("dev", 1): try DevCluster.run(settings)
            case ("gateway", 1): try Serve.gateway(settings)
            case ("node", 1): try Serve.node(settings)
            case ("migrate", 1): try Admin.migrate(settings)
            case ("bench", 1): try Bench.run(settings)
            case (let group, _) where groups.contains(group):
                throw UsageError("unknown verb: hera \(words.joined(separator: " ")) (hera \(group) takes \(verbNames(group)))")
            default: throw UsageError("unknown command: \(words.joined(separator: " ")) (try hera --help)")
            }
            return 0
        } catch let error as UsageError {
            complain(error.description)
            return 2
        } catch {
            complain(String(describing: error))
            return 1
        }
    }

    /// Errors are one line on stderr.
    private static func complain(_ message: String) {
        let line = message.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.joined(separator: " ")
        FileHandle.standardError.write(Data("hera: \(line)\n".utf8))
    }

    static func help(for command: String?) -> String {
        switch command {
        case "gateway": return Serve.gatewayHelp
        case "node": return Serve.nodeHelp + "\n\nOperator verbs:\n" + Verbs.groupHelp("node")
        case "dev": return DevCluster.help
        case "bench": return Bench.help
        case "migrate": return Admin.migrateHelp
        case let group? where groups.contains(group): return "hera \(group) VERB …\n\n" + Verbs.groupHelp(group)
        default: return usage
        }
    }

    private static func verbNames(_ group: String) -> String {
        Verbs.inGroup(group).map(\.name).joined(separator: "|")
    }
}

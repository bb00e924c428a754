import Foundation
import HeraDB
import HeraHTTP
import HeraSupport

/// `hera bench`: latency and throughput of a running cluster, measured through its HTTP API.
/// deploy/scripts/bench runs it beside pgbench on the same SQL, for a ratio on the same machine.
enum Bench {
    static let help = """
        hera bench --url URL --account NAME --key KEY [--template T] [--database-url URL]
                   [--samples N] [--clients N] [--seconds S]
          1. create → running: N sandboxes one after another; time from POST /sandbox/ until
             GET /sandbox/:id says running (p50, p99)
          2. exec `true`: N sync execs in one sandbox (p50, p99)
          3. sync creates per second: C clients with keep-alive for S seconds, against 8 node
             rows that only the benchmark uses (type "bench", never started; it needs
             --database-url to register them, keep them heart-beating and remove their sandboxes)
          4. queue: a whole-node sandbox holds the node, an async one waits behind it with a
             webhook to a receiver in this process; the holder is killed. Times from the
             holder's end to the queued one running (database clock), and from running to the
             webhook received (N/5 rounds; needs --database-url and a gateway that allows
             private webhook addresses, as hera dev's does)
          5. save as template: N/10 running sandboxes saved with POST /sandbox/:id/create_template
             (p50), and as the reference `cp -a` of the template's directory on this machine
             (p50; run it on the node's machine; needs --database-url)
        """

    struct Target {
        let port: Int
        let authorization: String
        let template: String
    }

    static func run(_ settings: Settings) throws {
        guard let url = settings.string("url"), let account = settings.string("account"), let key = settings.string("key"),
              let portText = url.split(separator: ":").last?.filter(\.isNumber), let port = Int(portText) else {
            throw UsageError("usage: " + help)
        }
        let target = Target(port: port, authorization: "Basic " + Data("\(account):\(key)".utf8).base64EncodedString(),
                            template: settings.string("template", default: "busybox"))
        let samples = try settings.int("samples", default: 100)
        let clients = try settings.int("clients", default: 16)
        let seconds = try settings.double("seconds", default: 10)

        let startup = try createToRunning(target, samples: samples)
        print(String(format: "create_to_running_ms p50=%.2f p99=%.2f n=%d", percentile(startup, 50), percentile(startup, 99), startup.count))
        let exec = try execTrue(target, samples: samples)
        print(String(format: "exec_true_ms p50=%.2f p99=%.2f n=%d", percentile(exec, 50), percentile(exec, 99), exec.count))
        if settings.has("database-url") {
            let rate = try createThroughput(target, database: settings.databaseURL, clients: clients, seconds: seconds)
            print(String(format: "sync_creates_per_s=%.0f clients=%d seconds=%.0f errors=%d", rate.perSecond, clients, seconds, rate.errors))
            let queue = try QueueBench.run(target, database: settings.databaseURL, rounds: max(1, samples / 5))
            print(String(format: "queue_freed_to_running_ms p50=%.2f p99=%.2f n=%d", percentile(queue.toRunning, 50),
                         percentile(queue.toRunning, 99), queue.toRunning.count))
            print(String(format: "running_to_webhook_ms p50=%.2f p99=%.2f n=%d", percentile(queue.toWebhook, 50),
                         percentile(queue.toWebhook, 99), queue.toWebhook.count))
            let saves = try SaveBench.run(target, database: settings.databaseURL, rounds: max(1, samples / 10))
            print(String(format: "save_as_template_ms p50=%.2f cp_a_template_ms p50=%.2f ratio=%.2f n=%d", percentile(saves.save, 50),
                         percentile(saves.copy, 50), percentile(saves.save, 50) / percentile(saves.copy, 50), saves.save.count))
        }
    }

    static func request(_ client: HTTPClient, _ target: Target, _ method: String, _ path: String,
                        _ form: String = "") throws -> [String: Any] {
        var headers = HTTPHeaders([("Authorization", target.authorization)])
        if !form.isEmpty { headers.add("Content-Type", "application/x-www-form-urlencoded") }
        let response = try client.send(method, path, headers: headers, body: Array(form.utf8))
        let object = (try? JSONSerialization.jsonObject(with: Data(response.body))) as? [String: Any] ?? [:]
        guard response.status == 200 else {
            throw Command.Failure(description: "\(method) \(path) → \(response.status) \(String(decoding: response.body, as: UTF8.self))")
        }
        return object
    }

    static func createToRunning(_ target: Target, samples: Int) throws -> [Double] {
        let client = HTTPClient(port: target.port)
        var times: [Double] = []
        for _ in 0..<samples {
            let start = Date()
            let created = try request(client, target, "POST", "/sandbox/", "memory=32&timeout=60&template=\(target.template)")
            guard let id = created["id"] as? String else { throw Command.Failure(description: "no id in \(created)") }
            while try request(client, target, "GET", "/sandbox/\(id)")["state"] as? String != "running" {
                usleep(500)
            }
            times.append(-start.timeIntervalSinceNow * 1000)
            _ = try request(client, target, "POST", "/sandbox/\(id)/kill")
        }
        return times
    }

    static func execTrue(_ target: Target, samples: Int) throws -> [Double] {
        let client = HTTPClient(port: target.port)
        let created = try request(client, target, "POST", "/sandbox/", "memory=32&timeout=600&template=\(target.template)")
        guard let id = created["id"] as? String else { throw Command.Failure(description: "no id in \(created)") }
        defer { _ = try? request(client, target, "POST", "/sandbox/\(id)/kill") }
        var times: [Double] = []
        for _ in 0..<samples {
            let start = Date()
            let result = try request(client, target, "POST", "/sandbox/\(id)/exec", "args=%5B%22true%22%5D")
            guard result["code"] as? Int == 0 else { throw Command.Failure(description: "exec true failed: \(result)") }
            times.append(-start.timeIntervalSinceNow * 1000)
        }
        return times
    }

    static func createThroughput(_ target: Target, database: String, clients: Int,
                                 seconds: Double) throws -> (perSecond: Double, errors: Int) {
        let connection = try PGConnection(database)
        try connection.query("SELECT node_register('bench-' || n, 'bench', 100000000, 100000000) FROM generate_series(1, 8) n")
        // Bench nodes have no worker to report the templates they hold: they hold every one.
        try connection.query("""
            INSERT INTO template_nodes SELECT t.id, n.id FROM templates t, nodes n WHERE n.node_type = 'bench' AND t.state = 'ready'
            ON CONFLICT DO NOTHING
            """)
        let counter = Counter()
        let deadline = Date(timeIntervalSinceNow: seconds)
        let heartbeat = Thread {
            let beats = try? PGConnection(database)
            while Date() < deadline {
                _ = try? beats?.query("UPDATE nodes SET heartbeat_at = now() WHERE node_type = 'bench'")
                Thread.sleep(forTimeInterval: 1)
            }
        }
        heartbeat.start()
        let group = DispatchGroup()
        let start = Date()
        for _ in 0..<clients {
            group.enter()
            Thread {
                let client = HTTPClient(port: target.port)
                while Date() < deadline {
                    let ok = (try? request(client, target, "POST", "/sandbox/",
                                           "memory=16&timeout=60&node_type=bench&template=\(target.template)")) != nil
                    counter.add(ok)
                }
                group.leave()
            }.start()
        }
        group.wait()
        let elapsed = -start.timeIntervalSinceNow
        while !heartbeat.isFinished { usleep(10_000) }
        try connection.query("""
            SELECT sandbox_finish(s.id, 'killed', 'benchmark') FROM sandboxes s JOIN nodes n ON n.id = s.node_id
            WHERE n.node_type = 'bench' AND s.state <> 'finished'
            """)
        return (Double(counter.ok) / elapsed, counter.errors)
    }

    static func percentile(_ values: [Double], _ p: Double) -> Double {
        guard !values.isEmpty else { return .nan }
        let sorted = values.sorted()
        return sorted[min(sorted.count - 1, Int((Double(sorted.count) * p / 100).rounded(.up)) - 1)]
    }

    final class Counter: @unchecked Sendable {
        private let lock = NSLock()
        private(set) var ok = 0
        private(set) var errors = 0
        func add(_ success: Bool) {
            lock.lock()
            if success { ok += 1 } else { errors += 1 }
            lock.unlock()
        }
    }
}

import Foundation
import HeraDB
import HeraHTTP
import HeraSupport

/// Part 4 of `hera bench`: how fast the queue moves when capacity frees, and how fast the
/// webhook follows.
enum QueueBench {
    /// When each webhook arrived, by sandbox id.
    final class Arrivals: @unchecked Sendable {
        private let condition = NSCondition()
        private var times: [String: Date] = [:]

        func record(_ body: [UInt8]) {
            let form = String(decoding: body, as: UTF8.self)
            guard let id = form.split(separator: "&").first(where: { $0.hasPrefix("id=") })?.dropFirst(3) else { return }
            condition.lock()
            times[String(id)] = Date()
            condition.broadcast()
            condition.unlock()
        }

        func wait(for id: String, seconds: Double) -> Date? {
            let deadline = Date(timeIntervalSinceNow: seconds)
            condition.lock()
            defer { condition.unlock() }
            while times[id] == nil && condition.wait(until: deadline) {}
            return times[id]
        }
    }

    static func run(_ target: Bench.Target, database: String, rounds: Int) throws -> (toRunning: [Double], toWebhook: [Double]) {
        let arrivals = Arrivals()
        let receiver = try HTTPServer(host: "127.0.0.1", port: 0) { request in
            arrivals.record(request.body)
            return HTTPResponse(status: 200)
        }
        receiver.start()
        defer { receiver.stop(grace: 0) }
        let connection = try PGConnection(database)
        let client = HTTPClient(port: target.port)
        let hook = "http://127.0.0.1:\(receiver.port)/hook"
        var toRunning: [Double] = [], toWebhook: [Double] = []
        for _ in 0..<rounds {
            let holder = try create(client, target, "whole_node=true")
            try waitRunning(client, target, holder)
            let queued = try create(client, target, "whole_node=true&async=true&webhook_url=\(hook)")
            _ = try Bench.request(client, target, "POST", "/sandbox/\(holder)/kill")
            try waitRunning(client, target, queued)
            let row = try connection.query("""
                SELECT extract(epoch FROM q.started_at - h.finished_at) * 1000 AS gap, extract(epoch FROM q.started_at) AS started
                FROM sandboxes q, sandboxes h WHERE q.id = $1 AND h.id = $2
                """, [queued, holder]).first
            toRunning.append(row?.double("gap") ?? .nan)
            if let arrived = arrivals.wait(for: queued, seconds: 10), let started = row?.double("started") {
                toWebhook.append((arrived.timeIntervalSince1970 - started) * 1000)
            }
            _ = try Bench.request(client, target, "POST", "/sandbox/\(queued)/kill")
        }
        return (toRunning, toWebhook)
    }

    private static func create(_ client: HTTPClient, _ target: Bench.Target, _ extra: String) throws -> String {
        let created = try Bench.request(client, target, "POST", "/sandbox/", "memory=32&timeout=120&node_type=default&template=\(target.template)&\(extra)")
        guard let id = created["id"] as? String else { throw Command.Failure(description: "no id in \(created)") }
        return id
    }

    private static func waitRunning(_ client: HTTPClient, _ target: Bench.Target, _ id: String) throws {
        let deadline = Date(timeIntervalSinceNow: 30)
        while try Bench.request(client, target, "GET", "/sandbox/\(id)")["state"] as? String != "running" {
            guard Date() < deadline else { throw Command.Failure(description: "sandbox \(id) did not start within 30 s") }
            usleep(500)
        }
    }
}

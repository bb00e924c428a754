import Foundation
import HeraDB
import HeraHTTP
import HeraSupport

/// Saving a sandbox as a template, timed through the API, beside `cp -a` of the same template
/// directory on this machine: the copy is the floor the node's save cannot go below.
enum SaveBench {
    /// Milliseconds per save (POST /sandbox/:id/create_template on a running sandbox) and per
    /// `cp -a` of the template's root filesystem.
    static func run(_ target: Bench.Target, database: String, rounds: Int) throws -> (save: [Double], copy: [Double]) {
        let connection = try PGConnection(database)
        guard let rootfs = try connection.query("SELECT rootfs FROM templates WHERE name = $1 AND owner_id IS NULL",
                                                [target.template]).first?["rootfs"] else {
            throw Command.Failure(description: "no system template \(target.template)")
        }
        let client = HTTPClient(port: target.port)
        let suffix = String(UInt32.random(in: 0...UInt32.max), radix: 16)
        var save: [Double] = [], copy: [Double] = []
        for round in 0..<rounds {
            let created = try Bench.request(client, target, "POST", "/sandbox/", "memory=32&timeout=60&template=\(target.template)")
            guard let id = created["id"] as? String else { throw Command.Failure(description: "no id in \(created)") }
            while try Bench.request(client, target, "GET", "/sandbox/\(id)")["state"] as? String != "running" { usleep(500) }
            let start = Date()
            _ = try Bench.request(client, target, "POST", "/sandbox/\(id)/create_template", "name=bench-save-\(suffix)-\(round)")
            save.append(-start.timeIntervalSinceNow * 1000)

            let destination = NSTemporaryDirectory() + "/hera-bench-copy-\(suffix)-\(round)"
            let copyStart = Date()
            try Command.run(["/bin/cp", "-a", "--one-file-system", "--", rootfs + "/.", destination])
            copy.append(-copyStart.timeIntervalSinceNow * 1000)
            try FileManager.default.removeItem(atPath: destination)
        }
        return (save, copy)
    }
}

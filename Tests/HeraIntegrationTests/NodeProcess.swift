import Foundation
import XCTest

/// `hera node` as a process of its own (the built binary, HERA_BIN), for what an in-process
/// node cannot show: a worker killed with SIGKILL, then started again.
final class NodeProcess {
    let name: String
    private let arguments: [String]
    private var process: Process?

    init(cluster: TestCluster, name: String) throws {
        self.name = name
        arguments = [try heraBinary(), "node", "--name", name, "--node-type", name, "--memory-mb", "1024", "--slots", "8",
                     "--database-url", cluster.databaseURL, "--cgroup-parent", TestCluster.cgroupParent(name),
                     "--scratch-root", TestCluster.testDirectory + "/scratch-" + name,
                     "--template-dir", cluster.templateStore(node: name)]
    }

    /// Starts the node and waits until it has registered (its log says so).
    func start() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: arguments[0])
        process.arguments = Array(arguments.dropFirst())
        // A file, not a pipe: nobody reads the log after start-up, and a full pipe would block the node.
        let logPath = TestCluster.testDirectory + "/node-\(name)-\(UUID().uuidString).log"
        FileManager.default.createFile(atPath: logPath, contents: nil)
        process.standardError = FileHandle(forWritingAtPath: logPath)
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        self.process = process
        let deadline = Date(timeIntervalSinceNow: 10)
        var seen = ""
        while Date() < deadline && !seen.contains("node registered") {
            usleep(20_000)
            seen = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
        }
        guard seen.contains("node registered") else { throw TestClientError("node \(name) did not register: \(seen)") }
    }

    func kill9() {
        guard let process else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        self.process = nil
    }

    /// SIGTERM: the node ends its sandboxes and exits.
    func stop() {
        guard let process else { return }
        process.terminate()
        process.waitUntilExit()
        self.process = nil
    }
}

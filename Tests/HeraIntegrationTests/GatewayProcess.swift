import Foundation
import XCTest

/// `hera gateway` as a child process on a free port, its standard error kept in a file.
final class GatewayProcess {
    let process = Process()
    let logPath: String
    private(set) var port = 0

    init(databaseURL: String, extraArguments: [String] = []) throws {
        logPath = NSTemporaryDirectory() + "hera-gateway-\(UUID().uuidString).log"
        FileManager.default.createFile(atPath: logPath, contents: nil)
        process.executableURL = URL(fileURLWithPath: try heraBinary())
        process.arguments = ["gateway", "--port", "0", "--database-url", databaseURL] + extraArguments
        process.environment = ["PATH": "/usr/bin:/bin"]
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let deadline = Date(timeIntervalSinceNow: 20)
        while port == 0 && Date() < deadline && process.isRunning {
            port = logLines().first { $0["msg"] as? String == "gateway listening" }?["port"] as? Int ?? 0
            if port == 0 { Thread.sleep(forTimeInterval: 0.05) }
        }
        guard port != 0 else {
            stop()
            throw TestSetupError("the gateway did not start: \(log)")
        }
    }

    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    func logLines() -> [[String: Any]] {
        log.split(separator: "\n").compactMap { line in
            (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]
        }
    }

    func terminate() { process.terminate() }

    /// SIGTERM if still running, then waits for the exit and removes the log file.
    func stop() {
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
        try? FileManager.default.removeItem(atPath: logPath)
    }
}

import Foundation

/// Runs a program to completion and returns its standard output; throws with its standard error
/// when it fails. For admin work (initdb, apt-get), not for hot paths.
public enum Command {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
        public init(description: String) { self.description = description }
    }

    @discardableResult
    public static func run(_ arguments: [String], environment: [String: String]? = nil) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: arguments[0])
        process.arguments = Array(arguments.dropFirst())
        if let environment { process.environment = environment }
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        process.standardInput = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            throw Failure(description: "cannot run \(arguments[0]): \(error.localizedDescription)")
        }
        // Read both pipes to the end before waiting, on two threads, so neither can fill up.
        let errorData = LockedBox<Data>(Data())
        let errorReader = Thread { errorData.value = errors.fileHandleForReading.readDataToEndOfFile() }
        errorReader.start()
        let outputData = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        while !errorData.isSet { usleep(1000) }
        let stdout = String(decoding: outputData, as: UTF8.self)
        guard process.terminationStatus == 0 else {
            let stderr = String(decoding: errorData.value, as: UTF8.self)
            throw Failure(description: "\(arguments.joined(separator: " ")) failed (status \(process.terminationStatus)): \(stderr.suffix(2000))")
        }
        return stdout
    }
}

/// A value written once by one thread and read by another.
final class LockedBox<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: T
    private var written = false
    init(_ initial: T) { stored = initial }
    var value: T {
        get { lock.lock(); defer { lock.unlock() }; return stored }
        set { lock.lock(); stored = newValue; written = true; lock.unlock() }
    }
    var isSet: Bool { lock.lock(); defer { lock.unlock() }; return written }
}

import Foundation
import HeraSandbox
import HeraSupport

/// Writes a running command's output to its exec row in pieces, at most every `interval`
/// seconds, so that clients can follow it (GET /sandbox/:id/exec/:exec?stdout_offset=…).
/// A piece that could not be written is kept and written with the next one, so the row always
/// holds a prefix of the output. The complete output is stored when the command ends.
final class LiveOutput: @unchecked Sendable {
    static let interval = 0.2

    private let write: (_ stdout: [UInt8], _ stderr: [UInt8]) throws -> Void
    private let condition = NSCondition()
    private var pending: (stdout: [UInt8], stderr: [UInt8]) = ([], [])
    private var ending = false
    private var ended = false

    init(write: @escaping (_ stdout: [UInt8], _ stderr: [UInt8]) throws -> Void) {
        self.write = write
        let thread = Thread { [self] in writeUntilEnded() }
        thread.name = "hera-live-output"
        thread.start()
    }

    /// The exec's output observer.
    func observe(_ stream: ExecStream, _ bytes: ArraySlice<UInt8>) {
        condition.lock()
        switch stream {
        case .stdout: pending.stdout += bytes
        case .stderr: pending.stderr += bytes
        }
        condition.unlock()
    }

    /// Stops writing (what is still pending is left to the command's final result) and waits for the writer.
    func end() {
        condition.lock()
        ending = true
        condition.broadcast()
        while !ended { condition.wait() }
        condition.unlock()
    }

    private func writeUntilEnded() {
        condition.lock()
        while !ending {
            _ = condition.wait(until: Date(timeIntervalSinceNow: LiveOutput.interval))
            guard !ending, !pending.stdout.isEmpty || !pending.stderr.isEmpty else { continue }
            let piece = pending
            condition.unlock()
            let written = Result { try self.write(piece.stdout, piece.stderr) }
            condition.lock()
            if case .failure(let error) = written {
                Log.warn("could not write live output; retrying with the next piece", ["error": "\(error)"])
            } else {
                pending.stdout.removeFirst(piece.stdout.count)
                pending.stderr.removeFirst(piece.stderr.count)
            }
        }
        ended = true
        condition.broadcast()
        condition.unlock()
    }
}

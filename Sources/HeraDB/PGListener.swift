import Foundation

/// A thread that LISTENs on one channel and hands each batch of payloads to `onNotify`.
/// When the connection fails it reconnects with backoff (0.1 s doubling to 5 s), reporting the
/// failure to `onError`; notifications sent while it was down are lost, so users also poll.
public final class PGListener: @unchecked Sendable {
    private let conninfo: String
    private let channel: String
    private let onNotify: @Sendable ([String]) -> Void
    private let onError: @Sendable (Error) -> Void
    private let lock = NSLock()
    private var stopping = false

    public init(conninfo: String, channel: String,
                onError: @escaping @Sendable (Error) -> Void,
                onNotify: @escaping @Sendable ([String]) -> Void) {
        self.conninfo = conninfo
        self.channel = channel
        self.onError = onError
        self.onNotify = onNotify
    }

    public func start() {
        let thread = Thread { [self] in run() }
        thread.name = "listen-" + channel
        thread.start()
    }

    /// The thread ends within about a second.
    public func stop() {
        lock.lock()
        stopping = true
        lock.unlock()
    }

    private var isStopping: Bool {
        lock.lock()
        defer { lock.unlock() }
        return stopping
    }

    private func run() {
        var backoff = 0.1
        while !isStopping {
            do {
                let connection = try PGConnection(conninfo)
                try connection.execute("LISTEN \"\(channel)\"")
                backoff = 0.1
                while !isStopping {
                    let events = try connection.notifications(timeout: 1)
                    if !events.isEmpty { onNotify(events.map(\.payload)) }
                }
            } catch {
                onError(error)
                Thread.sleep(forTimeInterval: backoff)
                backoff = min(backoff * 2, 5)
            }
        }
    }
}

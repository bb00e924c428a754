import Glibc

/// A failed system call, naming the call and errno.
public struct SocketError: Error, CustomStringConvertible, Sendable {
    /// The call that failed, with context, e.g. "bind(127.0.0.1:8080)".
    public let call: String
    /// errno, or the getaddrinfo() status for name resolution failures.
    public let code: Int32
    public let message: String

    init(call: String, code: Int32) {
        self.init(call: call, code: code, message: String(cString: strerror(code)))
    }

    init(call: String, code: Int32, message: String) {
        self.call = call
        self.code = code
        self.message = message
    }

    public var description: String { "\(call) failed: \(message) (\(code))" }

    var isWouldBlock: Bool { code == EAGAIN || code == EWOULDBLOCK }
}

/// Runs a system call, retrying while it fails with EINTR; other failures throw a SocketError naming `call`.
@discardableResult
func systemCall<Result: BinaryInteger>(_ call: String, _ body: () -> Result) throws(SocketError) -> Result {
    while true {
        let result = body()
        if result >= 0 { return result }
        let code = errno
        if code != EINTR { throw SocketError(call: call, code: code) }
    }
}

/// A connected TCP socket. Reads and writes wait with poll() against a deadline.
struct Socket: Sendable {
    let descriptor: Int32

    enum ReceiveOutcome {
        case bytes([UInt8])
        case endOfStream
        case timedOut
    }

    func receive(maxBytes: Int, until deadline: Deadline) throws(SocketError) -> ReceiveOutcome {
        var bytes = [UInt8](repeating: 0, count: maxBytes)
        while true {
            guard try wait(for: POLLIN, until: deadline) else { return .timedOut }
            let count: Int
            do throws(SocketError) {
                count = try systemCall("recv") {
                    bytes.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
                }
            } catch {
                if error.isWouldBlock { continue }
                throw error
            }
            if count == 0 { return .endOfStream }
            return .bytes(Array(bytes.prefix(count)))
        }
    }

    /// Sends every byte or throws; a peer that stopped reading fails with ETIMEDOUT at `deadline`.
    /// MSG_NOSIGNAL turns a vanished peer into EPIPE instead of a process-killing SIGPIPE.
    func sendAll(_ bytes: [UInt8], until deadline: Deadline) throws(SocketError) {
        var offset = 0
        while offset < bytes.count {
            guard try wait(for: POLLOUT, until: deadline) else { throw SocketError(call: "send", code: ETIMEDOUT) }
            do throws(SocketError) {
                offset += try systemCall("send") {
                    bytes[offset...].withUnsafeBytes {
                        send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL) | Int32(MSG_DONTWAIT))
                    }
                }
            } catch {
                if error.isWouldBlock { continue }
                throw error
            }
        }
    }

    /// Reads and discards input until the peer closes, `deadline` passes or `maxBytes` were read.
    func discardInput(until deadline: Deadline, maxBytes: Int) {
        var discarded = 0
        while discarded < maxBytes, case .bytes(let bytes)? = try? receive(maxBytes: 16 * 1024, until: deadline) {
            discarded += bytes.count
        }
    }

    /// False once the peer has closed or reset the connection; never blocks. Unread input
    /// (a pipelined request) does not count as closed.
    var peerIsConnected: Bool {
        let peerHungUp: Int16 = 0x2000   // POLLRDHUP (Linux), which the Glibc module does not export
        var state = pollfd(fd: descriptor, events: peerHungUp, revents: 0)
        guard poll(&state, 1, 0) > 0 else { return true }
        return state.revents & (peerHungUp | Int16(POLLHUP | POLLERR | POLLNVAL)) == 0
    }

    func shutdown(_ how: Int32) {
        _ = Glibc.shutdown(descriptor, how)
    }

    /// Closes the descriptor; close() is not retried on EINTR because Linux always releases it.
    func close() {
        _ = Glibc.close(descriptor)
    }

    func setOption(_ level: Int32, _ name: Int32, _ value: Int32) throws(SocketError) {
        var value = value
        try systemCall("setsockopt") {
            setsockopt(descriptor, level, name, &value, socklen_t(MemoryLayout<Int32>.size))
        }
    }

    /// Waits until `events` are ready; false when the deadline passed first.
    private func wait(for events: Int32, until deadline: Deadline) throws(SocketError) -> Bool {
        while true {
            var state = pollfd(fd: descriptor, events: Int16(events), revents: 0)
            let ready = try systemCall("poll") { poll(&state, 1, deadline.remainingMilliseconds) }
            if ready > 0 { return true }
            if deadline.hasPassed { return false }
        }
    }
}

import Glibc

/// A connected non-blocking TCP socket whose every wait is bounded by a deadline. Failures are
/// thrown as retryable, naming the peer.
struct TCPSocket {
    let descriptor: Int32
    let peer: Endpoint

    /// Sends bytes from `bytes`, returning how many were taken. MSG_NOSIGNAL turns a vanished
    /// receiver into EPIPE instead of a process-killing SIGPIPE.
    func send(_ bytes: UnsafeRawBufferPointer, until deadline: Deadline) throws(DeliveryFailure) -> Int {
        while true {
            try waitUntilReady(for: POLLOUT, until: deadline, doing: "sending to")
            do throws(SystemCallError) {
                return try systemCall("send") {
                    Glibc.send(descriptor, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL))
                }
            } catch where error.isWouldBlock {
                continue
            } catch {
                throw .retryable("sending to \(peer): \(error.description)")
            }
        }
    }

    /// Up to `maxBytes` received bytes; empty when the peer closed the connection.
    func receive(maxBytes: Int, until deadline: Deadline) throws(DeliveryFailure) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: maxBytes)
        while true {
            try waitUntilReady(for: POLLIN, until: deadline, doing: "waiting for a response from")
            do throws(SystemCallError) {
                let count = try systemCall("recv") {
                    buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
                }
                return Array(buffer.prefix(count))
            } catch where error.isWouldBlock {
                continue
            } catch {
                throw .retryable("receiving from \(peer): \(error.description)")
            }
        }
    }

    /// Closes the descriptor; close() is not retried on EINTR because Linux always releases it.
    func close() {
        _ = Glibc.close(descriptor)
    }

    /// Returns once `events` are ready on the socket (or it failed, which the next call reports);
    /// throws a retryable timeout when the deadline passes first.
    func waitUntilReady(for events: Int32, until deadline: Deadline, doing activity: String) throws(DeliveryFailure) {
        while true {
            var state = pollfd(fd: descriptor, events: Int16(events), revents: 0)
            let ready: Int32
            do throws(SystemCallError) {
                ready = try systemCall("poll") { poll(&state, 1, deadline.remainingMilliseconds) }
            } catch {
                throw .retryable("\(activity) \(peer): \(error.description)")
            }
            if ready > 0 { return }
            if deadline.hasPassed { throw .retryable("timed out \(activity) \(peer)") }
        }
    }
}

import Foundation
import Glibc

/// A loopback TCP server whose connections are handed to `behavior` on their own threads,
/// for receivers that misbehave below HTTP. SIGPIPE is blocked on those threads, so a write to
/// a departed client fails with EPIPE there, and never affects the client under test.
final class RawTestServer: @unchecked Sendable {
    let port: Int
    /// Signalled by `stop`, for behaviors that wait for the end of the test.
    let stopped = DispatchSemaphore(value: 0)
    private let listener: Int32
    private let acceptLoopFinished = DispatchSemaphore(value: 0)

    init(behavior: @escaping @Sendable (_ connection: Int32, _ server: RawTestServer) -> Void) throws {
        (listener, port) = try listenOnLoopback()
        let thread = Thread { [self] in
            while case let connection = accept(listener, nil, nil), connection >= 0 {
                let worker = Thread { [self] in
                    blockSIGPIPEOnThisThread()
                    behavior(connection, self)
                    close(connection)
                }
                worker.start()
            }
            acceptLoopFinished.signal()
        }
        thread.start()
    }

    func stop() {
        for _ in 0..<64 { stopped.signal() }
        shutdown(listener, Int32(SHUT_RDWR))
        acceptLoopFinished.wait()
        close(listener)
    }
}

/// A listening socket on 127.0.0.1 with a kernel-chosen port.
func listenOnLoopback(backlog: Int32 = 16) throws -> (descriptor: Int32, port: Int) {
    let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { address in
            bind(descriptor, address, length) == 0 && listen(descriptor, backlog) == 0
                && getsockname(descriptor, address, &length) == 0
        }
    }
    guard descriptor >= 0, bound else { throw TestSetupError(message: "cannot listen on 127.0.0.1: errno \(errno)") }
    return (descriptor, Int(UInt16(bigEndian: address.sin_port)))
}

/// A non-blocking socket with a connect to 127.0.0.1:`port` under way.
func startConnecting(toLoopbackPort port: Int) -> Int32 {
    let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = UInt16(port).bigEndian
    _ = withUnsafePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
        }
    }
    return descriptor
}

func blockSIGPIPEOnThisThread() {
    var set = sigset_t()
    sigemptyset(&set)
    sigaddset(&set, SIGPIPE)
    pthread_sigmask(SIG_BLOCK, &set, nil)
}

/// Reads from `connection` until a blank line ends the request head (or 2 s pass).
func readRequestHead(_ connection: Int32) {
    var timeout = timeval(tv_sec: 2, tv_usec: 0)
    setsockopt(connection, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    var received: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 4096)
    while !String(decoding: received, as: UTF8.self).contains("\r\n\r\n") {
        let count = recv(connection, &buffer, buffer.count, 0)
        if count <= 0 { return }
        received += buffer.prefix(count)
    }
}

/// Writes all of `bytes`; false once the peer is gone.
@discardableResult
func writeAll(_ connection: Int32, _ bytes: [UInt8]) -> Bool {
    var offset = 0
    while offset < bytes.count {
        let count = bytes[offset...].withUnsafeBytes { send(connection, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        if count <= 0 { return false }
        offset += count
    }
    return true
}

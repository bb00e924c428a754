import Foundation
import Glibc

/// A non-blocking listening TCP socket whose accept loop can be woken for shutdown.
final class Listener: @unchecked Sendable {
    enum Event {
        case connection(Socket, remoteAddress: String)
        case woken
    }

    let port: Int
    private let descriptor: Int32
    private let acceptWithFlags: Accept4
    private let lock = NSLock()
    private var isWoken = false
    private var isClosed = false

    /// Resolves `host`, then binds (with SO_REUSEADDR) and listens; port 0 picks a free port.
    init(host: String, port: Int, backlog: Int32 = 512) throws(SocketError) {
        let endpoint = "\(host):\(port)"
        guard (0...65535).contains(port) else { throw SocketError(call: "bind(\(endpoint))", code: EINVAL) }
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV
        var addresses: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host.isEmpty ? nil : host, String(port), &hints, &addresses)
        guard status == 0, let address = addresses?.pointee else {
            throw SocketError(call: "getaddrinfo(\(host))", code: status, message: String(cString: gai_strerror(status)))
        }
        defer { freeaddrinfo(addresses) }

        let socketType = address.ai_socktype | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue)
        let descriptor = try systemCall("socket") { socket(address.ai_family, socketType, address.ai_protocol) }
        let listening = Socket(descriptor: descriptor)
        do throws(SocketError) {
            acceptWithFlags = try resolveAccept4()
            try listening.setOption(SOL_SOCKET, SO_REUSEADDR, 1)
            try systemCall("bind(\(endpoint))") { bind(descriptor, address.ai_addr, address.ai_addrlen) }
            try systemCall("listen(\(endpoint))") { listen(descriptor, backlog) }
            self.port = try boundPort(of: descriptor)
        } catch {
            listening.close()
            throw error
        }
        self.descriptor = descriptor
    }

    /// Blocks until a connection is accepted or `wake()` was called.
    func nextEvent() throws(SocketError) -> Event {
        while true {
            var state = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            try systemCall("poll") { poll(&state, 1, -1) }
            if wasWoken { return .woken }
            var address = sockaddr_storage()
            var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let accepted = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    acceptWithFlags(descriptor, $0, &length, Int32(SOCK_CLOEXEC.rawValue))
                }
            }
            if accepted < 0 {
                let code = errno
                // The queued connection vanished or a signal interrupted us: wait again.
                if code == EAGAIN || code == EWOULDBLOCK || code == ECONNABORTED || code == EINTR || code == EPROTO {
                    continue
                }
                throw SocketError(call: "accept4", code: code)
            }
            let socket = Socket(descriptor: accepted)
            try? socket.setOption(Int32(IPPROTO_TCP), TCP_NODELAY, 1)
            return .connection(socket, remoteAddress: formatAddress(address, length: length))
        }
    }

    /// Makes a pending or future `nextEvent()` return `.woken`. On Linux, shutting down a
    /// listening socket wakes poll() on it, so no extra pipe is needed.
    func wake() {
        lock.withLock { isWoken = true }
        _ = shutdown(descriptor, Int32(SHUT_RDWR))
    }

    /// Stops listening: new connection attempts are refused from here on.
    func close() {
        lock.withLock {
            if !isClosed {
                isClosed = true
                _ = Glibc.close(descriptor)
            }
        }
    }

    deinit {
        close()
    }

    private var wasWoken: Bool { lock.withLock { isWoken } }
}

/// accept4(2), which Swift's Glibc module hides behind _GNU_SOURCE; looked up at run time.
private typealias Accept4 = @convention(c) (
    Int32, UnsafeMutablePointer<sockaddr>?, UnsafeMutablePointer<socklen_t>?, Int32
) -> Int32

private func resolveAccept4() throws(SocketError) -> Accept4 {
    guard let symbol = dlsym(dlopen(nil, RTLD_NOW), "accept4") else {
        throw SocketError(call: "dlsym(accept4)", code: ENOSYS)
    }
    return unsafeBitCast(symbol, to: Accept4.self)
}

private func boundPort(of descriptor: Int32) throws(SocketError) -> Int {
    var address = sockaddr_storage()
    var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
    try systemCall("getsockname") {
        withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
    }
    let family = Int32(address.ss_family)
    return withUnsafePointer(to: address) { pointer in
        if family == AF_INET6 {
            return pointer.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { Int(UInt16(bigEndian: $0.pointee.sin6_port)) }
        }
        return pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { Int(UInt16(bigEndian: $0.pointee.sin_port)) }
    }
}

/// "ip:port", or "[ip]:port" for IPv6.
private func formatAddress(_ address: sockaddr_storage, length: socklen_t) -> String {
    var host = [CChar](repeating: 0, count: Int(NI_MAXHOST))
    var service = [CChar](repeating: 0, count: Int(NI_MAXSERV))
    let status = withUnsafePointer(to: address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            getnameinfo($0, length, &host, socklen_t(host.count), &service, socklen_t(service.count),
                        NI_NUMERICHOST | NI_NUMERICSERV)
        }
    }
    guard status == 0 else { return "unknown" }
    let hostText = String(decoding: host.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    let serviceText = String(decoding: service.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    return hostText.contains(":") ? "[\(hostText)]:\(serviceText)" : "\(hostText):\(serviceText)"
}

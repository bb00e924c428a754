import Glibc

/// Opens the TCP connection, applying the SSRF guard to each address right before connecting.
enum Connector {
    /// Tries each endpoint in turn, skipping those the address policy refuses, each connect
    /// bounded by `connectTimeout` and all of them by `deadline`.
    static func connect(host: String, endpoints: [Endpoint], allowPrivateAddresses: Bool,
                        connectTimeout: Double, until deadline: Deadline) throws(DeliveryFailure) -> TCPSocket {
        var refusals: [String] = []
        var lastFailure: DeliveryFailure?
        for endpoint in endpoints {
            if !allowPrivateAddresses, let reason = AddressPolicy.refusalReason(for: endpoint.address) {
                refusals.append("\(endpoint.address) is \(reason)")
                continue
            }
            if deadline.hasPassed { break }
            do throws(DeliveryFailure) {
                return try connect(to: endpoint, until: min(deadline, .after(seconds: connectTimeout)))
            } catch {
                lastFailure = error
            }
        }
        if let lastFailure { throw lastFailure }
        if refusals.isEmpty { throw .retryable("timed out before connecting to \(host)") }
        throw .permanent("refused: \(host) resolves only to private addresses (\(refusals.joined(separator: ", ")))")
    }

    private static func connect(to endpoint: Endpoint, until deadline: Deadline) throws(DeliveryFailure) -> TCPSocket {
        let (family, address) = socketAddress(of: endpoint)
        let type = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        let descriptor: Int32
        do throws(SystemCallError) {
            descriptor = try systemCall("socket") { Glibc.socket(family, type, 0) }
        } catch {
            throw .retryable("connecting to \(endpoint): \(error.description)")
        }
        let socket = TCPSocket(descriptor: descriptor, peer: endpoint)
        do throws(DeliveryFailure) {
            try finishConnect(socket, to: address, family: family, until: deadline)
            return socket
        } catch {
            socket.close()
            throw error
        }
    }

    private static func finishConnect(_ socket: TCPSocket, to address: sockaddr_storage, family: Int32,
                                      until deadline: Deadline) throws(DeliveryFailure) {
        let length = socklen_t(family == AF_INET ? MemoryLayout<sockaddr_in>.size : MemoryLayout<sockaddr_in6>.size)
        // Not retried on EINTR: the connection then proceeds asynchronously, as for EINPROGRESS.
        let status = withUnsafeBytes(of: address) { raw in
            Glibc.connect(socket.descriptor, raw.baseAddress?.assumingMemoryBound(to: sockaddr.self), length)
        }
        if status == 0 { return }
        let code = errno
        guard code == EINPROGRESS || code == EINTR else {
            throw .retryable("connecting to \(socket.peer): \(String(cString: strerror(code)))")
        }
        try socket.waitUntilReady(for: POLLOUT, until: deadline, doing: "connecting to")
        var pending: Int32 = 0
        var optionLength = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(socket.descriptor, SOL_SOCKET, SO_ERROR, &pending, &optionLength) == 0 else {
            throw .retryable("connecting to \(socket.peer): \(String(cString: strerror(errno)))")
        }
        guard pending == 0 else {
            throw .retryable("connecting to \(socket.peer): \(String(cString: strerror(pending)))")
        }
    }

    private static func socketAddress(of endpoint: Endpoint) -> (Int32, sockaddr_storage) {
        var storage = sockaddr_storage()
        let port = UInt16(truncatingIfNeeded: endpoint.port).bigEndian
        switch endpoint.address {
        case .v4(let bytes):
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = port
            withUnsafeMutableBytes(of: &address.sin_addr) { $0.copyBytes(from: bytes) }
            withUnsafeMutableBytes(of: &storage) { $0.copyBytes(from: withUnsafeBytes(of: address) { Array($0) }) }
            return (AF_INET, storage)
        case .v6(let bytes):
            var address = sockaddr_in6()
            address.sin6_family = sa_family_t(AF_INET6)
            address.sin6_port = port
            withUnsafeMutableBytes(of: &address.sin6_addr) { $0.copyBytes(from: bytes) }
            withUnsafeMutableBytes(of: &storage) { $0.copyBytes(from: withUnsafeBytes(of: address) { Array($0) }) }
            return (AF_INET6, storage)
        }
    }
}

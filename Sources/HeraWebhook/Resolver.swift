import Foundation
import Glibc

/// An address and TCP port to connect to.
struct Endpoint: Equatable, CustomStringConvertible {
    let address: IPAddress
    let port: Int

    var description: String {
        if case .v6 = address { return "[\(address)]:\(port)" }
        return "\(address):\(port)"
    }
}

/// Name resolution with getaddrinfo, bounded by a deadline.
enum Resolver {
    /// Every address `host` resolves to, in getaddrinfo's preference order. getaddrinfo cannot be
    /// interrupted, so it runs on its own thread; when the deadline passes first the attempt
    /// fails and that thread finishes on its own. Resolution failures are retryable: DNS answers
    /// change (a domain being set up, a flaky resolver).
    static func resolve(_ host: String, port: Int, until deadline: Deadline) throws(DeliveryFailure) -> [Endpoint] {
        let slot = ResolutionSlot()
        let thread = Thread { slot.fill(lookUp(host, port: port)) }
        thread.name = "hera-webhook-resolve"
        thread.start()
        guard let result = slot.wait(seconds: deadline.remainingSeconds) else {
            throw .retryable("timed out resolving \(host)")
        }
        return try result.get()
    }

    private static func lookUp(_ host: String, port: Int) -> Result<[Endpoint], DeliveryFailure> {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_protocol = Int32(IPPROTO_TCP)
        hints.ai_flags = AI_NUMERICSERV
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &list)
        guard status == 0 else {
            return .failure(.retryable("cannot resolve \(host): \(String(cString: gai_strerror(status)))"))
        }
        defer { freeaddrinfo(list) }
        var endpoints: [Endpoint] = []
        var entry = list
        while let info = entry?.pointee {
            if let address = ipAddress(of: info), !endpoints.contains(Endpoint(address: address, port: port)) {
                endpoints.append(Endpoint(address: address, port: port))
            }
            entry = info.ai_next
        }
        return endpoints.isEmpty ? .failure(.retryable("\(host) has no IP addresses")) : .success(endpoints)
    }

    private static func ipAddress(of info: addrinfo) -> IPAddress? {
        guard let socketAddress = info.ai_addr else { return nil }
        switch info.ai_family {
        case AF_INET:
            let address = socketAddress.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee.sin_addr }
            return .v4(withUnsafeBytes(of: address) { Array($0) })
        case AF_INET6:
            let address = socketAddress.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { $0.pointee.sin6_addr }
            return .v6(withUnsafeBytes(of: address) { Array($0) })
        default:
            return nil
        }
    }
}

/// Hands one resolution result from the resolving thread to the waiting one.
private final class ResolutionSlot: @unchecked Sendable {
    private let filled = DispatchSemaphore(value: 0)
    private let lock = NSLock()
    private var result: Result<[Endpoint], DeliveryFailure>?

    func fill(_ result: Result<[Endpoint], DeliveryFailure>) {
        lock.withLock { self.result = result }
        filled.signal()
    }

    /// The result, or nil if it did not arrive within `seconds`.
    func wait(seconds: Double) -> Result<[Endpoint], DeliveryFailure>? {
        guard filled.wait(timeout: .now() + seconds) == .success else { return nil }
        return lock.withLock { result }
    }
}

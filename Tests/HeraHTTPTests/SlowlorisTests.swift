import Foundation
import Glibc
import XCTest

@testable import HeraHTTP

/// Slow-loris: many connections that trickle a head byte by byte must be cut off at the head
/// timeout, and must not keep a normal client from being served meanwhile.
final class SlowlorisTests: ServerTestCase {
    private static let attackers = 500
    private static let headTimeout = 2.0

    func testTricklingConnectionsAreCutOffWhileANormalRequestIsServedFast() throws {
        try raiseOpenFileLimit(to: 4 * Self.attackers)
        let limits = HTTPLimits(headTimeout: Self.headTimeout, maxConnections: Self.attackers + 100)
        let server = try startServer(limits: limits)
        let trickle = Array("GET / HTTP/1.1\r\nHost: a\r\nX-Slow: ".utf8)
        var open: [(client: TestClient, connected: Date)] = []
        for _ in 0..<Self.attackers {
            let client = try TestClient(port: server.port)
            try client.send([trickle[0]])
            open.append((client, Date()))
        }
        let start = open[0].connected
        var closed: [(client: TestClient, lifetime: Double)] = []
        var bytesSent = 1
        var normalLatency: Double?
        while !open.isEmpty && elapsed(since: start) < Self.headTimeout + 4 {
            if elapsed(since: start) >= Double(bytesSent) {
                for attacker in open { try? attacker.client.send([trickle[bytesSent]]) }
                bytesSent += 1
            }
            if normalLatency == nil && elapsed(since: start) >= 1 {
                normalLatency = try latencyOfNormalRequest(port: server.port)
            }
            open.removeAll { attacker in
                guard attacker.client.hasBeenClosedByPeer() else { return false }
                closed.append((attacker.client, elapsed(since: attacker.connected)))
                return true
            }
            Thread.sleep(forTimeInterval: 0.02)
        }

        XCTAssertEqual(open.count, 0, "slow connections still open after \(elapsed(since: start)) s")
        let latency = try XCTUnwrap(normalLatency)
        XCTAssertLessThan(latency, Self.headTimeout / 4, "normal request took \(latency) s")
        let lifetimes = closed.map(\.lifetime)
        XCTAssertGreaterThanOrEqual(lifetimes.min() ?? 0, Self.headTimeout * 0.95, "closed before the head timeout")
        XCTAssertLessThanOrEqual(lifetimes.max() ?? .infinity, Self.headTimeout + 1.5, "closed long after the head timeout")
        let statuses = closed.map { (try? $0.client.readResponse(timeout: 0.1).status) ?? 0 }
        XCTAssertEqual(statuses.filter { $0 != 408 }.count, 0, "every slow connection gets one 408")
    }

    private func latencyOfNormalRequest(port: Int) throws -> Double {
        let start = Date()
        let client = try TestClient(port: port)
        try client.send("GET /normal HTTP/1.1\r\nHost: a\r\n\r\n")
        let response = try client.readResponse(timeout: Self.headTimeout)
        XCTAssertEqual(response.bodyText, "GET /normal ")
        return elapsed(since: start)
    }

    /// Client and server share this process, so each attacker costs two descriptors.
    private func raiseOpenFileLimit(to wanted: Int) throws {
        var limit = rlimit()
        let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
        guard getrlimit(resource, &limit) == 0 else { throw TestClientError(description: "getrlimit: errno \(errno)") }
        guard limit.rlim_cur < rlim_t(wanted) else { return }
        guard limit.rlim_max >= rlim_t(wanted) else {
            // Fail loudly rather than skip: the test must run in CI.
            throw TestClientError(description: "RLIMIT_NOFILE hard limit \(limit.rlim_max) is below the \(wanted) descriptors needed")
        }
        limit.rlim_cur = rlim_t(wanted)
        guard setrlimit(resource, &limit) == 0 else { throw TestClientError(description: "setrlimit: errno \(errno)") }
    }
}

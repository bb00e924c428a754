import Foundation
import Glibc

/// Serves one client connection on its own thread: reads requests, calls the handler,
/// writes the responses and enforces the timeouts from `HTTPLimits`.
final class HTTPConnection: @unchecked Sendable {
    private static let readChunkBytes = 64 * 1024
    /// Before closing, unread input is drained for this long so the peer receives our last
    /// response instead of a reset (which a close with unread data would send).
    private static let lingerSeconds = 1.0
    private static let lingerMaxBytes = 1024 * 1024

    private let socket: Socket
    private let remoteAddress: String
    private let limits: HTTPLimits
    private let handler: @Sendable (HTTPRequest) -> HTTPResponse
    private let headCheck: HTTPHeadCheck?

    private let lock = NSLock()
    private var isIdle = false
    private var isStopRequested = false
    private var isClosed = false

    init(socket: Socket, remoteAddress: String, limits: HTTPLimits, headCheck: HTTPHeadCheck?,
         handler: @escaping @Sendable (HTTPRequest) -> HTTPResponse) {
        self.socket = socket
        self.remoteAddress = remoteAddress
        self.limits = limits
        self.headCheck = headCheck
        self.handler = handler
    }

    /// Serves requests until the connection ends, then closes it.
    func run() {
        serve()
        close()
    }

    /// Sends `response` and closes at once; used on the accept thread to turn clients away.
    func reject(with response: HTTPResponse) {
        let bytes = ResponseEncoding.encode(response, headOnly: false, keepAlive: false)
        try? socket.sendAll(bytes, until: .after(seconds: 0.1))
        socket.shutdown(Int32(SHUT_WR))
        socket.discardInput(until: .now, maxBytes: Self.lingerMaxBytes)
        close()
    }

    /// Asks the connection to finish: an idle one closes now, a busy one after its current response.
    func requestStop() {
        lock.withLock {
            isStopRequested = true
            if isIdle && !isClosed { socket.shutdown(Int32(SHUT_RD)) }
        }
    }

    /// Cuts the connection off; the serving thread notices on its next read or write.
    func forceClose() {
        lock.withLock {
            if !isClosed { socket.shutdown(Int32(SHUT_RDWR)) }
        }
    }

    private func serve() {
        var parser = HTTPParser(limits: limits)
        // The deadline of the current phase; it starts when the phase is first seen waiting.
        var phaseTimer: (phase: HTTPParser.Phase, deadline: Deadline)?
        var hasServedRequest = false
        var headChecked = false
        while true {
            switch parser.next() {
            case .request(var request):
                if !headChecked, let refusal = check(request) { return finish(with: refusal) }
                headChecked = false
                request.remoteAddress = remoteAddress
                request.isClientConnected = { [socket] in socket.peerIsConnected }
                let response = handler(request)
                let keepAlive = request.keepAlive && !stopRequested && !ResponseEncoding.requestsClose(response)
                let bytes = ResponseEncoding.encode(response, headOnly: request.method == "HEAD", keepAlive: keepAlive)
                guard send(bytes) else { return }
                guard keepAlive else { return closeAfterLastResponse() }
                hasServedRequest = true
                phaseTimer = nil

            case .expectContinue:
                if !headChecked, let head = parser.pendingHead {
                    headChecked = true
                    if let refusal = check(head) { return finish(with: refusal) }
                }
                guard send(ResponseEncoding.continueResponse) else { return }

            case .error(let error):
                return finish(with: .parseFailure(error))

            case .needMore:
                if !headChecked, let head = parser.pendingHead {
                    headChecked = true
                    if let refusal = check(head) { return finish(with: refusal) }
                }
                let phase = parser.phase
                // A fresh connection's head clock runs from accept: waiting before the first
                // byte must not buy a slow-loris client a second head timeout.
                let timedPhase = phase == .idle && !hasServedRequest ? .head : phase
                let deadline: Deadline
                if let timer = phaseTimer, timer.phase == timedPhase {
                    deadline = timer.deadline
                } else {
                    deadline = .after(seconds: timeout(for: timedPhase))
                    phaseTimer = (timedPhase, deadline)
                }
                switch receive(until: deadline, idle: phase == .idle) {
                case .bytes(let bytes)?:
                    parser.feed(bytes)
                case .timedOut?:
                    guard phase != .idle else { return }
                    let what = phase == .head ? "request head" : "request body"
                    return finish(with: .jsonError(status: 408, name: "RequestTimeout", message: "\(what) not received in time"))
                case .endOfStream?, nil:
                    return
                }
            }
        }
    }

    /// The head check's refusal, if any (it is answered with Connection: close, the body unread).
    private func check(_ head: HTTPRequest) -> HTTPResponse? {
        guard let headCheck else { return nil }
        var head = head
        head.remoteAddress = remoteAddress
        return headCheck(head)
    }

    private func timeout(for phase: HTTPParser.Phase) -> Double {
        switch phase {
        case .idle: limits.idleTimeout
        case .head: limits.headTimeout
        case .body: limits.bodyTimeout
        }
    }

    /// Reads the next bytes; nil on a socket error or, when idle, once a stop was requested.
    /// While idle the connection is marked so that `requestStop()` can wake and end it.
    private func receive(until deadline: Deadline, idle: Bool) -> Socket.ReceiveOutcome? {
        if idle {
            let mayWait = lock.withLock {
                isIdle = !isStopRequested
                return isIdle
            }
            guard mayWait else { return nil }
        }
        defer {
            if idle { lock.withLock { isIdle = false } }
        }
        return try? socket.receive(maxBytes: Self.readChunkBytes, until: deadline)
    }

    private func send(_ bytes: [UInt8]) -> Bool {
        (try? socket.sendAll(bytes, until: .after(seconds: limits.writeTimeout))) != nil
    }

    /// Sends a final error response ("Connection: close") and closes.
    private func finish(with response: HTTPResponse) {
        guard send(ResponseEncoding.encode(response, headOnly: false, keepAlive: false)) else { return }
        closeAfterLastResponse()
    }

    private func closeAfterLastResponse() {
        socket.shutdown(Int32(SHUT_WR))
        socket.discardInput(until: .after(seconds: Self.lingerSeconds), maxBytes: Self.lingerMaxBytes)
    }

    private var stopRequested: Bool {
        lock.withLock { isStopRequested }
    }

    private func close() {
        lock.withLock {
            if !isClosed {
                isClosed = true
                socket.close()
            }
        }
    }
}

import Foundation
import HeraDB
import HeraHTTP
import HeraSupport

/// One gateway replica: the HTTP server, the routes, and the background helpers they need.
/// It keeps no state another replica would need; PostgreSQL holds it all.
public final class Gateway: @unchecked Sendable {
    let config: GatewayConfig
    let pool: PGPool
    let authenticator: Authenticator
    let events: EventWaiter
    let waker: NodeWaker
    let duties: BackgroundDuties
    let metrics: GatewayMetrics
    let readiness = Readiness()
    private var server: HTTPServer!

    public init(config: GatewayConfig) throws {
        self.config = config
        pool = PGPool(conninfo: config.databaseURL, size: config.poolSize, queryTimeout: GatewayConfig.queryTimeoutSeconds)
        authenticator = Authenticator(pool: pool)
        events = EventWaiter(conninfo: config.databaseURL)
        waker = NodeWaker(pool: pool)
        metrics = GatewayMetrics(databaseURL: config.databaseURL)
        duties = BackgroundDuties(pool: pool, config: config, waker: waker, metrics: metrics)
        events.onChange = { [duties] in duties.wake() }
        server = try HTTPServer(host: config.host, port: config.port, headCheck: { [weak self] head in
            self?.checkHead(head)
        }) { [weak self] request in
            self?.handle(request) ?? Response.error(.stopping, requestID: "")
        }
    }

    public var port: Int { server.port }

    /// Requests waiting for a node (sync exec, kill, wait) right now.
    public var waitingRequests: Int { events.waiting }

    public func start() {
        events.start()
        waker.start()
        duties.start()
        server.start()
        readiness.phase = .serving
        Log.info("gateway listening", ["host": config.host, "port": server.port, "pool_size": config.poolSize,
                                       "max_timeout_s": config.maxTimeoutSeconds])
    }

    /// Stops accepting, lets requests in flight finish (up to `grace` seconds), then stops the helpers.
    public func stop(grace: Double) {
        server.stop(grace: grace)
        events.stop()
        waker.stop()
        duties.stop()
    }

    /// Refuses a request without valid credentials before its body is read.
    func checkHead(_ head: HTTPRequest) -> HTTPResponse? {
        guard !Gateway.publicPaths.contains(head.path) else { return nil }
        let started = Date().timeIntervalSinceReferenceDate
        let (response, outcome, requestID) = answer(head) { _ = try authenticator.authenticate(head); return nil }
        guard response.status != 200 else { return nil }
        observe(head, response, outcome: outcome, started: started, requestID: requestID)
        return response
    }

    func handle(_ request: HTTPRequest) -> HTTPResponse {
        let started = Date().timeIntervalSinceReferenceDate
        let (response, outcome, requestID) = answer(request) { try route(request) }
        observe(request, response, outcome: outcome, started: started, requestID: requestID)
        return response
    }

    /// Runs `body` and turns whatever it throws into the API's error answer; nil is 200 ok.
    /// Also gives the outcome ("ok" or the error's status name) and the request id.
    private func answer(_ request: HTTPRequest, _ body: () throws -> HTTPResponse?)
        -> (response: HTTPResponse, outcome: String, requestID: String) {
        let requestID = request.headers["X-Request-Id"].flatMap { $0.count <= 128 ? $0 : nil } ?? Crypto.hex(Crypto.randomBytes(8))
        var response: HTTPResponse
        var outcome = "ok"
        do {
            response = try body() ?? HTTPResponse(status: 200)
        } catch let error as APIError {
            response = Response.error(error, requestID: requestID)
            outcome = error.name
        } catch let error as PGError where error.isConnectionFailure {
            Log.error("database unavailable", ["request_id": requestID, "error": error.description])
            response = Response.error(.databaseUnavailable, requestID: requestID)
            outcome = APIError.databaseUnavailable.name
        } catch {
            Log.error("internal error", ["request_id": requestID, "path": request.path, "error": "\(error)"])
            response = Response.error(APIError("InternalError", 500, "internal error; quote request id \(requestID)"),
                                      requestID: requestID)
            outcome = "InternalError"
        }
        response.headers.add("X-Request-Id", requestID)
        return (response, outcome, requestID)
    }
}

import Foundation
import HeraHTTP
import HeraSupport

extension Gateway {
    /// The route pattern a request matched, as metrics and the access log name it
    /// ("POST /sandbox/:id/exec"); "unmatched" for anything else, so labels stay few.
    func routeLabel(_ request: HTTPRequest) -> String {
        let path = request.path.split(separator: "/").map(String.init)
        let method = request.method == "HEAD" ? "GET" : request.method
        if method == "GET", Gateway.publicPaths.contains("/" + path.joined(separator: "/")) {
            return "GET /" + path.joined(separator: "/")
        }
        guard let route = Gateway.routes.first(where: { $0.method == method && $0.match(path) != nil }) else { return "unmatched" }
        return "\(route.method) \(route.pattern)"
    }

    /// Counts and logs one answered request.
    func observe(_ request: HTTPRequest, _ response: HTTPResponse, outcome: String, started: Double, requestID: String) {
        let seconds = Date().timeIntervalSinceReferenceDate - started
        let route = routeLabel(request)
        metrics.requestAnswered(route: route, status: response.status, seconds: seconds)
        if route == "POST /sandbox/" { metrics.reservation(outcome: outcome) }
        AccessLog.write(request, route: route, status: response.status, seconds: seconds, requestID: requestID)
    }

    /// 200 only while serving and PostgreSQL answers (bounded by the pool's connect and
    /// statement timeouts); 503 while starting or draining.
    func readyz() throws -> HTTPResponse {
        let phase = readiness.phase
        guard phase == .serving else { throw APIError("ServiceUnavailable", 503, "this gateway is \(phase.rawValue)") }
        try pool.query("SELECT 1")
        return Response.ok()
    }

    func metricsPage() -> HTTPResponse {
        let text = metrics.scrape(pool: pool, ready: readiness.phase == .serving)
        return HTTPResponse(status: 200, headers: HTTPHeaders([("Content-Type", Metrics.contentType)]), body: Array(text.utf8))
    }

    /// SIGTERM: answer /readyz with 503 for `drainSeconds` while still serving everything else,
    /// so the load balancer takes this replica out; then stop (see `stop(grace:)`).
    public func drain(seconds: Double) {
        readiness.phase = .draining
        Log.info("draining: /readyz answers 503", ["drain_s": seconds])
        Thread.sleep(forTimeInterval: seconds)
    }
}

import Foundation
import HeraHTTP

/// One route: a method and a path pattern whose `:name` segments capture values.
struct Route: Sendable {
    typealias Handler = @Sendable (Gateway, Caller, [String: String], Parameters) throws -> HTTPResponse

    let method: String
    let pattern: String
    let handler: Handler

    var segments: [Substring] { pattern.split(separator: "/") }

    /// The captured values when `path` matches this pattern, else nil.
    func match(_ path: [String]) -> [String: String]? {
        let segments = self.segments
        guard segments.count == path.count else { return nil }
        var captured: [String: String] = [:]
        for (pattern, value) in zip(segments, path) {
            if pattern.hasPrefix(":") {
                // Percent-decoded, so a template can be named as account%2Fname.
                guard let decoded = value.removingPercentEncoding else { return nil }
                captured[String(pattern.dropFirst())] = decoded
            }
            else if pattern != value { return nil }
        }
        return captured
    }
}

extension Gateway {
    /// Every authenticated route. The OpenAPI document lists exactly these (a test checks).
    static let routes: [Route] = [
        Route(method: "GET", pattern: "/sandbox/") { g, c, _, p in try g.sandboxList(c, p) },
        Route(method: "POST", pattern: "/sandbox/") { g, c, _, p in try g.sandboxCreate(c, p) },
        Route(method: "GET", pattern: "/sandbox/:id") { g, c, v, _ in try g.sandboxGet(c, try Gateway.sandboxID(v["id"]!)) },
        Route(method: "POST", pattern: "/sandbox/:id/exec") { g, c, v, p in try g.execCreate(c, try Gateway.sandboxID(v["id"]!), p) },
        Route(method: "GET", pattern: "/sandbox/:id/exec/:exec") { g, c, v, p in
            try g.execGet(c, try Gateway.sandboxID(v["id"]!), v["exec"]!, p)
        },
        Route(method: "POST", pattern: "/sandbox/:id/kill") { g, c, v, _ in try g.sandboxKill(c, try Gateway.sandboxID(v["id"]!)) },
        Route(method: "POST", pattern: "/sandbox/:id/wait") { g, c, v, p in try g.sandboxWait(c, try Gateway.sandboxID(v["id"]!), p) },
        Route(method: "GET", pattern: "/sandbox/:id/download") { g, c, v, p in try g.sandboxDownload(c, try Gateway.sandboxID(v["id"]!), p) },
        Route(method: "POST", pattern: "/sandbox/:id/unpack") { g, c, v, p in try g.sandboxUnpack(c, try Gateway.sandboxID(v["id"]!), p) },
        Route(method: "POST", pattern: "/sandbox/:id/timeout") { g, c, v, p in try g.sandboxSetTimeout(c, try Gateway.sandboxID(v["id"]!), p) },
        Route(method: "POST", pattern: "/sandbox/:id/create_template") { g, c, v, p in
            try g.sandboxSaveAsTemplate(c, try Gateway.sandboxID(v["id"]!), p)
        },
        Route(method: "GET", pattern: "/template/") { g, c, _, _ in try g.templateList(c) },
        Route(method: "GET", pattern: "/template/:id") { g, c, v, _ in try g.templateGet(c, v["id"]!) },
        Route(method: "POST", pattern: "/template/:id") { g, c, v, p in try g.templateUpdate(c, v["id"]!, p) },
        Route(method: "GET", pattern: "/cluster/") { g, _, _, _ in try g.clusterGet() },
    ]

    /// Routes that need no credentials.
    static let publicPaths = ["/healthz", "/readyz", "/metrics", "/openapi.json"]

    /// Maps method and path to a handler. Paths may end with or without a slash; HEAD is GET.
    func route(_ request: HTTPRequest) throws -> HTTPResponse {
        let path = request.path.split(separator: "/").map(String.init)
        let method = request.method == "HEAD" ? "GET" : request.method
        switch (method, path) {
        case ("GET", ["healthz"]):
            return Response.ok()
        case ("GET", ["readyz"]):
            return try readyz()
        case ("GET", ["metrics"]):
            return metricsPage()
        case ("GET", ["openapi.json"]):
            return HTTPResponse(status: 200, headers: HTTPHeaders([("Content-Type", "application/json")]),
                                body: Array(OpenAPI.document.utf8))
        default:
            break
        }
        let matching = Gateway.routes.compactMap { route in route.match(path).map { (route, $0) } }
        guard !matching.isEmpty else { throw APIError.notFound }
        guard let (route, values) = matching.first(where: { $0.0.method == method }) else {
            throw APIError.methodNotAllowed(allow: matching.map(\.0.method).joined(separator: ", "))
        }
        let caller = try authenticator.authenticate(request)
        return try route.handler(self, caller, values, try Parameters(request))
    }
}

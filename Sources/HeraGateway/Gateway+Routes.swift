import HeraHTTP

extension Gateway {
    /// Maps method and path to a handler. Paths may end with or without a slash.
    func route(_ request: HTTPRequest) throws -> HTTPResponse {
        let segments = request.path.split(separator: "/").map(String.init)
        let method = request.method == "HEAD" ? "GET" : request.method
        switch (method, segments.count, segments.first) {
        case ("GET", 1, "healthz"):
            return Response.ok()
        case ("GET", 1, "readyz"):
            try pool.query("SELECT 1")
            return Response.ok()
        case (_, _, "sandbox"), (_, _, "template"), (_, _, "cluster"):
            break
        default:
            throw APIError.notFound
        }
        let caller = try authenticator.authenticate(request)
        let parameters = try Parameters(request)
        switch (method, segments[0], segments.count) {
        case ("POST", "sandbox", 1): return try sandboxCreate(caller, parameters)
        case ("GET", "sandbox", 1): return try sandboxList(caller, parameters)
        case ("GET", "sandbox", 2): return try sandboxGet(caller, segments[1])
        case ("POST", "sandbox", 3) where segments[2] == "exec": return try execCreate(caller, segments[1], parameters)
        case ("GET", "sandbox", 4) where segments[2] == "exec": return try execGet(caller, segments[1], segments[3])
        case ("POST", "sandbox", 3) where segments[2] == "kill": return try sandboxKill(caller, segments[1])
        case ("POST", "sandbox", 3) where segments[2] == "wait": return try sandboxWait(caller, segments[1], parameters)
        case ("GET", "cluster", 1): return try clusterGet()
        case ("GET", "template", 1): return try templateList(caller)
        case ("GET", "template", 2): return try templateGet(caller, segments[1])
        case ("POST", "template", 2): return try templateUpdate(caller, segments[1], parameters)
        case (_, "sandbox", 1), (_, "template", 2): throw APIError.methodNotAllowed(allow: "GET, POST")
        case (_, "sandbox", 2), (_, "sandbox", 4), (_, "template", 1): throw APIError.methodNotAllowed(allow: "GET")
        case (_, "sandbox", 3) where ["exec", "kill", "wait"].contains(segments[2]): throw APIError.methodNotAllowed(allow: "POST")
        case (_, "cluster", 1): throw APIError.methodNotAllowed(allow: "GET")
        default: throw APIError.notFound
        }
    }
}

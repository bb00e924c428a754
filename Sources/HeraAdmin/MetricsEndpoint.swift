import HeraHTTP
import HeraSupport

/// A tiny HTTP server answering `GET /metrics` (anything else 404), for the node's metrics on a
/// local port. Off unless `--metrics-port` is given; binds 127.0.0.1 unless `--metrics-host` says otherwise.
enum MetricsEndpoint {
    static func start(host: String, port: Int, render: @escaping @Sendable () -> String) throws -> HTTPServer {
        let server = try HTTPServer(host: host, port: port) { request in
            guard request.path == "/metrics", request.method == "GET" || request.method == "HEAD" else {
                return HTTPResponse(status: 404, headers: HTTPHeaders([("Content-Type", "text/plain")]), body: Array("not found\n".utf8))
            }
            return HTTPResponse(status: 200, headers: HTTPHeaders([("Content-Type", Metrics.contentType)]), body: Array(render().utf8))
        }
        server.start()
        return server
    }
}

import Foundation
import HeraHTTP
import HeraSupport

/// One JSON line per answered request: method, route pattern (never the raw path, which can hold
/// ids only), status, duration, request id and the account named in the credentials. Nothing
/// else of the request is logged: not its headers (Authorization), not its body (webhook secrets).
enum AccessLog {
    static func write(_ request: HTTPRequest, route: String, status: Int, seconds: Double, requestID: String) {
        var fields: [String: Any] = ["method": request.method, "route": route, "status": status,
                                     "duration_ms": (seconds * 1000 * 10).rounded() / 10, "request_id": requestID]
        if let account = Authenticator.credentials(request)?.account, status != 401 { fields["account"] = account }
        Log.info("request", fields)
    }
}

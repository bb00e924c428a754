import Foundation
import HeraHTTP
import HeraSupport

/// JSON responses. Every body is an object with "status"; errors add "message".
enum Response {
    static func ok(_ fields: [String: Any] = [:]) -> HTTPResponse {
        var object = fields
        object["status"] = "ok"
        return json(200, object)
    }

    static func error(_ error: APIError, requestID: String) -> HTTPResponse {
        var response = json(error.httpStatus, ["status": error.name, "message": error.message, "request_id": requestID])
        for (name, value) in error.headers { response.headers.add(name, value) }
        if error.httpStatus == 401 { response.headers.add("WWW-Authenticate", "Basic realm=\"hera\"") }
        if error.httpStatus == 503 { response.headers.add("Retry-After", "1") }
        return response
    }

    static func json(_ status: Int, _ object: [String: Any]) -> HTTPResponse {
        var body = JSONWriter.encode(object)
        body.append(0x0a)
        return HTTPResponse(status: status, headers: HTTPHeaders([("Content-Type", "application/json")]), body: body)
    }
}

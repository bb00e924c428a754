/// Called with a request's head (its `body` empty) once the head is complete and before any
/// of a body is read: answering a response refuses the request there, with Connection: close,
/// so that, say, an unauthenticated client cannot make the server buffer a large body.
/// nil lets the request go on. A request without a body is checked just before the handler.
public typealias HTTPHeadCheck = @Sendable (HTTPRequest) -> HTTPResponse?

/// Makes single webhook delivery attempts; retries are the caller's business.
public struct WebhookClient: Sendable {
    public let policy: WebhookPolicy
    /// Built once; when it fails (e.g. an unreadable `caFile`) every https attempt reports why.
    private let tls: Result<TLSContext, DeliveryFailure>

    public init(policy: WebhookPolicy = WebhookPolicy()) {
        self.policy = policy
        tls = Result { () throws(DeliveryFailure) in try TLSContext(caFile: policy.caFile) }
    }

    /// POSTs the request once and classifies the result. Blocks the calling thread for at most
    /// `policy.totalTimeout` seconds (plus scheduling slack); never throws.
    public func deliver(_ request: WebhookRequest) -> WebhookOutcome {
        do throws(DeliveryFailure) {
            return try attempt(request)
        } catch {
            return error.outcome
        }
    }

    private func attempt(_ request: WebhookRequest) throws(DeliveryFailure) -> WebhookOutcome {
        let deadline = Deadline.after(seconds: policy.totalTimeout)
        let url: WebhookURL
        do throws(WebhookURLError) {
            url = try WebhookURL(parsing: request.url)
        } catch {
            throw .permanent(error.description)
        }
        let message = try RequestEncoding.encode(url: url, body: request.body, headers: request.headers)
        let tlsContext = url.scheme == .https ? try tls.get() : nil
        let endpoints = try Resolver.resolve(url.host, port: url.port, until: deadline)
        let socket = try Connector.connect(host: url.host, endpoints: endpoints,
                                           allowPrivateAddresses: policy.allowPrivateAddresses,
                                           connectTimeout: policy.connectTimeout, until: deadline)
        let stream: ByteStream
        if let tlsContext {
            stream = try TLSStream(socket: socket, context: tlsContext, url: url, until: deadline)
        } else {
            stream = socket
        }
        defer { stream.close() }
        return WebhookOutcome(status: try exchange(message, over: stream, until: deadline))
    }

    /// Sends the request and reads the status. A receiver may answer (say 413) and close before
    /// taking the whole body; then its answer counts, and only without one the send error does.
    private func exchange(_ message: [UInt8], over stream: ByteStream, until deadline: Deadline) throws(DeliveryFailure) -> Int {
        do throws(DeliveryFailure) {
            try stream.write(message, until: deadline)
        } catch {
            guard let status = try? ResponseReader.readStatus(from: stream, maxBytes: policy.maxResponseBytes,
                                                               until: deadline) else { throw error }
            return status
        }
        return try ResponseReader.readStatus(from: stream, maxBytes: policy.maxResponseBytes, until: deadline)
    }
}

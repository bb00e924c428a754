import CSSL

/// TLS over a `TCPSocket`. OpenSSL works on memory BIOs and this type moves the bytes with
/// the socket's deadline-bounded, MSG_NOSIGNAL calls, so no TLS step can block past the
/// deadline or raise SIGPIPE.
final class TLSStream: ByteStream {
    private let socket: TCPSocket
    private let session: OpaquePointer
    private let input: OpaquePointer
    private let output: OpaquePointer

    /// Performs the handshake, verifying the certificate chain and that it names `url.host`.
    /// On failure the socket is closed.
    init(socket: TCPSocket, context: TLSContext, url: WebhookURL, until deadline: Deadline) throws(DeliveryFailure) {
        guard let session = SSL_new(context.context) else {
            socket.close()
            throw .retryable("TLS setup: \(OpenSSLError.drainQueue())")
        }
        let input = BIO_new(BIO_s_mem()), output = BIO_new(BIO_s_mem())
        guard let input, let output else {
            BIO_free(input)
            BIO_free(output)
            SSL_free(session)
            socket.close()
            throw .retryable("TLS setup: \(OpenSSLError.drainQueue())")
        }
        SSL_set_bio(session, input, output)   // the session now owns both BIOs
        (self.socket, self.session, self.input, self.output) = (socket, session, input, output)
        SSL_set_connect_state(session)
        do throws(DeliveryFailure) {
            try expectPeer(named: url)
            guard try drive("TLS handshake", until: deadline, { SSL_connect(session) }) > 0 else {
                throw .retryable("\(socket.peer) closed the connection during the TLS handshake")
            }
        } catch {
            close()
            throw error
        }
    }

    func write(_ bytes: [UInt8], until deadline: Deadline) throws(DeliveryFailure) {
        var offset = 0
        while offset < bytes.count {
            let written = try drive("TLS write", until: deadline) {
                bytes[offset...].withUnsafeBytes { SSL_write(session, $0.baseAddress, Int32(clamping: $0.count)) }
            }
            guard written > 0 else { throw .retryable("\(socket.peer) closed the connection during the request") }
            offset += Int(written)
        }
    }

    func read(maxBytes: Int, until deadline: Deadline) throws(DeliveryFailure) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: maxBytes)
        let count = try drive("TLS read", until: deadline) {
            buffer.withUnsafeMutableBytes { SSL_read(session, $0.baseAddress, Int32(clamping: $0.count)) }
        }
        return Array(buffer.prefix(Int(count)))
    }

    /// Frees the session (and its BIOs) and closes the socket; no close_notify is sent since
    /// the request said "Connection: close".
    func close() {
        SSL_free(session)
        socket.close()
    }

    /// SNI (for names only, per RFC 6066) and the identity the certificate must carry.
    private func expectPeer(named url: WebhookURL) throws(DeliveryFailure) {
        let accepted: Bool
        switch url.hostKind {
        case .name:
            let name = url.host.hasSuffix(".") ? String(url.host.dropLast()) : url.host
            let sniSet = name.withCString {
                SSL_ctrl(session, SSL_CTRL_SET_TLSEXT_HOSTNAME, Int(TLSEXT_NAMETYPE_host_name), UnsafeMutableRawPointer(mutating: $0))
            }
            accepted = sniSet == 1 && SSL_set1_host(session, name) == 1
        case .ipv4, .ipv6:
            accepted = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(session), url.host) == 1
        }
        SSL_set_hostflags(session, UInt32(X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS))
        guard accepted else { throw .retryable("TLS setup for \(url.host): \(OpenSSLError.drainQueue())") }
    }

    /// Runs an OpenSSL call until it succeeds, feeding it socket input and sending its output.
    /// Returns its positive result, or 0 when the peer ended the stream.
    private func drive(_ step: String, until deadline: Deadline, _ call: () -> Int32) throws(DeliveryFailure) -> Int32 {
        while true {
            ERR_clear_error()
            let result = call()
            let status = result > 0 ? SSL_ERROR_NONE : SSL_get_error(session, result)
            switch status {
            case SSL_ERROR_NONE:
                try sendPendingOutput(until: deadline)
                return result
            case SSL_ERROR_ZERO_RETURN:
                return 0
            case SSL_ERROR_WANT_READ:
                try sendPendingOutput(until: deadline)
                let bytes = try socket.receive(maxBytes: 16 << 10, until: deadline)
                if bytes.isEmpty { return 0 }
                _ = bytes.withUnsafeBytes { BIO_write(input, $0.baseAddress, Int32($0.count)) }
            case SSL_ERROR_WANT_WRITE:
                try sendPendingOutput(until: deadline)
            default:
                let failure = failureDescription(step)
                try? sendPendingOutput(until: deadline)   // deliver the alert if the peer still listens
                throw .retryable(failure)
            }
        }
    }

    private func failureDescription(_ step: String) -> String {
        let verification = SSL_get_verify_result(session)
        if verification != X509_V_OK {
            return "TLS certificate of \(socket.peer) rejected: \(String(cString: X509_verify_cert_error_string(verification)))"
        }
        return "\(step) with \(socket.peer) failed: \(OpenSSLError.drainQueue())"
    }

    private func sendPendingOutput(until deadline: Deadline) throws(DeliveryFailure) {
        var chunk = [UInt8](repeating: 0, count: 16 << 10)
        while BIO_ctrl_pending(output) > 0 {
            let count = chunk.withUnsafeMutableBytes { BIO_read(output, $0.baseAddress, Int32($0.count)) }
            guard count > 0 else { return }
            try socket.write(Array(chunk.prefix(Int(count))), until: deadline)
        }
    }
}

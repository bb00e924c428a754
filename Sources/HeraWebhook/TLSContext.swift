import CSSL

/// The client-side OpenSSL configuration shared by all deliveries: TLS 1.2 or later, peer
/// certificates verified against the system store plus an optional extra CA bundle.
/// Configured once in `init`; afterwards OpenSSL only creates sessions from it, which is
/// thread-safe, hence `@unchecked Sendable`.
final class TLSContext: @unchecked Sendable {
    let context: OpaquePointer

    init(caFile: String?) throws(DeliveryFailure) {
        guard let context = SSL_CTX_new(TLS_client_method()) else {
            throw .retryable("TLS setup: \(OpenSSLError.drainQueue())")
        }
        self.context = context
        SSL_CTX_set_verify(context, SSL_VERIFY_PEER, nil)
        guard SSL_CTX_ctrl(context, SSL_CTRL_SET_MIN_PROTO_VERSION, Int(TLS1_2_VERSION), nil) == 1,
              SSL_CTX_set_default_verify_paths(context) == 1 else {
            throw .retryable("TLS setup: \(OpenSSLError.drainQueue())")
        }
        // A retried SSL_write may see the Swift array at a new address.
        SSL_CTX_ctrl(context, SSL_CTRL_MODE, Int(SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER), nil)
        if let caFile, SSL_CTX_load_verify_locations(context, caFile, nil) != 1 {
            throw .retryable("TLS setup: cannot load CA file \(caFile): \(OpenSSLError.drainQueue())")
        }
    }

    deinit { SSL_CTX_free(context) }
}

/// Text for OpenSSL's thread-local error queue.
enum OpenSSLError {
    /// The queued errors joined by "; " (emptying the queue), or "unknown error".
    static func drainQueue() -> String {
        var messages: [String] = []
        while case let code = ERR_get_error(), code != 0 {
            var text = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &text, text.count)
            messages.append(String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        return messages.isEmpty ? "unknown error" : messages.joined(separator: "; ")
    }
}

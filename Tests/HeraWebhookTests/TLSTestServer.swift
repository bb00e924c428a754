import CSSL
import Foundation
import Glibc

/// A loopback HTTPS receiver built on OpenSSL: answers every request with 200 and records
/// the request heads it received and the handshakes that failed.
final class TLSTestServer: @unchecked Sendable {
    let port: Int
    private let listener: Int32
    private let context: OpaquePointer
    private let lock = NSLock()
    private var heads: [String] = []
    private var failedHandshakes = 0
    private let acceptLoopFinished = DispatchSemaphore(value: 0)

    init(certificate: String, key: String) throws {
        guard let context = SSL_CTX_new(TLS_server_method()),
              SSL_CTX_use_certificate_chain_file(context, certificate) == 1,
              SSL_CTX_use_PrivateKey_file(context, key, SSL_FILETYPE_PEM) == 1 else {
            throw TestSetupError(message: "cannot set up the TLS test server with \(certificate)")
        }
        self.context = context
        (listener, port) = try listenOnLoopback()
        let thread = Thread { [self] in
            while case let connection = accept(listener, nil, nil), connection >= 0 {
                let worker = Thread { [self] in
                    blockSIGPIPEOnThisThread()
                    serve(connection)
                    close(connection)
                }
                worker.start()
            }
            acceptLoopFinished.signal()
        }
        thread.start()
    }

    var receivedHeads: [String] { lock.withLock { heads } }
    var failedHandshakeCount: Int { lock.withLock { failedHandshakes } }

    func stop() {
        shutdown(listener, Int32(SHUT_RDWR))
        acceptLoopFinished.wait()
        close(listener)
        SSL_CTX_free(context)
    }

    private func serve(_ connection: Int32) {
        var timeout = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(connection, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        guard let session = SSL_new(context) else { return }
        defer { SSL_free(session) }
        SSL_set_fd(session, connection)
        guard SSL_accept(session) == 1 else {
            lock.withLock { failedHandshakes += 1 }
            return
        }
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while !String(decoding: received, as: UTF8.self).contains("\r\n\r\n") {
            let count = SSL_read(session, &buffer, Int32(buffer.count))
            if count <= 0 { return }
            received += buffer.prefix(Int(count))
        }
        let text = String(decoding: received, as: UTF8.self)
        lock.withLock { heads.append(String(text[..<(text.range(of: "\r\n\r\n")?.lowerBound ?? text.endIndex)])) }
        let response = Array("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok".utf8)
        _ = SSL_write(session, response, Int32(response.count))
        SSL_shutdown(session)
    }
}

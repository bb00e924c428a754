/// The connection the HTTP exchange runs over: plain TCP or TLS. Every call is bounded by a
/// deadline and fails with an already classified `DeliveryFailure`.
protocol ByteStream {
    func write(_ bytes: [UInt8], until deadline: Deadline) throws(DeliveryFailure)
    /// Up to `maxBytes` bytes; empty at the end of the stream.
    func read(maxBytes: Int, until deadline: Deadline) throws(DeliveryFailure) -> [UInt8]
    func close()
}

extension TCPSocket: ByteStream {
    func write(_ bytes: [UInt8], until deadline: Deadline) throws(DeliveryFailure) {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes { remaining in
                Result { () throws(DeliveryFailure) in try send(remaining, until: deadline) }
            }
            offset += try sent.get()
        }
    }

    func read(maxBytes: Int, until deadline: Deadline) throws(DeliveryFailure) -> [UInt8] {
        try receive(maxBytes: maxBytes, until: deadline)
    }
}

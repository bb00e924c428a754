/// Reads the response head far enough to know the final status. Interim 1xx responses are
/// skipped; the body is never read; redirects are not followed.
enum ResponseReader {
    /// The final status code. Once its status line has arrived, the rest of the head is read
    /// only while it fits in `maxBytes`, the stream stays open and the deadline holds; the
    /// status line alone decides the outcome.
    static func readStatus(from stream: ByteStream, maxBytes: Int, until deadline: Deadline) throws(DeliveryFailure) -> Int {
        var received: [UInt8] = []
        var head = HeadScanner()
        while true {
            while head.finalStatus == nil, let status = try head.nextStatus(in: received) {
                if (100...199).contains(status) && status != 101 {
                    guard head.skipHead(in: received) else { break }
                } else {
                    head.finalStatus = status
                }
            }
            if let status = head.finalStatus, head.headIsComplete(in: received) { return status }
            guard received.count < maxBytes else {
                if let status = head.finalStatus { return status }
                throw .retryable("no status line in the first \(maxBytes) bytes of the response")
            }
            let chunk: [UInt8]
            do throws(DeliveryFailure) {
                chunk = try stream.read(maxBytes: min(16 << 10, maxBytes - received.count), until: deadline)
            } catch {
                if let status = head.finalStatus { return status }
                throw error
            }
            guard !chunk.isEmpty else {
                if let status = head.finalStatus { return status }
                throw .retryable(received.isEmpty ? "connection closed without a response" : "response ended inside its status line")
            }
            received += chunk
        }
    }
}

/// Finds status lines and head ends in the growing response buffer without rescanning it.
private struct HeadScanner {
    /// Where the head currently being read starts.
    private var headStart = 0
    /// Where the search for the end of that head resumes.
    private var searchFrom = 0
    var finalStatus: Int?

    /// The status code of the current head once its status line is complete.
    func nextStatus(in bytes: [UInt8]) throws(DeliveryFailure) -> Int? {
        guard let lineEnd = bytes[headStart...].firstIndex(of: UInt8(ascii: "\n")) else { return nil }
        return try parseStatusLine(bytes[headStart..<lineEnd])
    }

    /// Moves past the current head if it is complete.
    mutating func skipHead(in bytes: [UInt8]) -> Bool {
        guard let end = endOfHead(in: bytes) else { return false }
        headStart = end
        searchFrom = end
        return true
    }

    mutating func headIsComplete(in bytes: [UInt8]) -> Bool {
        endOfHead(in: bytes) != nil
    }

    /// The index after the blank line ending the current head ("\r\n\r\n" or "\n\n").
    private mutating func endOfHead(in bytes: [UInt8]) -> Int? {
        var index = max(searchFrom, headStart)
        while let newline = bytes[index...].firstIndex(of: UInt8(ascii: "\n")) {
            let next = newline + 1
            if next < bytes.count, bytes[next] == UInt8(ascii: "\n") { return next + 1 }
            if next + 1 < bytes.count, bytes[next] == UInt8(ascii: "\r"), bytes[next + 1] == UInt8(ascii: "\n") {
                return next + 2
            }
            if next + 1 >= bytes.count { break }
            index = next
        }
        searchFrom = max(index, headStart)
        return nil
    }

    /// "HTTP/1.x SSS[ reason]": the three-digit status.
    private func parseStatusLine(_ line: ArraySlice<UInt8>) throws(DeliveryFailure) -> Int {
        let text = Array(line.last == UInt8(ascii: "\r") ? line.dropLast() : line)
        let digits = text.count >= 12 ? Array(text[9..<12]) : []
        guard text.count >= 12, text.starts(with: Array("HTTP/1.".utf8)), (0x30...0x39).contains(text[7]),
              text[8] == UInt8(ascii: " "),
              digits.allSatisfy({ (0x30...0x39).contains($0) }),
              text.count == 12 || text[12] == UInt8(ascii: " ") else {
            throw .retryable("malformed status line in the response")
        }
        return digits.reduce(0) { $0 * 10 + Int($1 - 0x30) }
    }
}

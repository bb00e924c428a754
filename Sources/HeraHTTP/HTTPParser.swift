/// What the parser has to say after being fed bytes.
public enum HTTPParseResult: Sendable {
    /// No complete request is buffered; feed more bytes.
    case needMore
    /// A complete request; call `next()` again for a pipelined one.
    case request(HTTPRequest)
    /// The head carries `Expect: 100-continue` and no body byte has arrived yet: the server
    /// should send "HTTP/1.1 100 Continue" now. Reported at most once per request.
    case expectContinue
    /// The input is invalid; every further call returns the same error.
    case error(HTTPParseError)
}

/// An incremental, socket-free HTTP/1.x request parser for one connection.
/// Feed it bytes as they arrive and call `next()` until it answers `.needMore`.
public struct HTTPParser {
    /// What the connection is waiting for; the server picks its timeout from this.
    enum Phase {
        case idle, head, body
    }

    private enum Stage {
        case head
        case fixedBody(HTTPRequest, length: Int)
        case chunkSize(HTTPRequest)
        case chunkData(HTTPRequest, remaining: Int)
        case chunkDataEnd(HTTPRequest)
        case trailers(HTTPRequest, bytesSoFar: Int, fieldCount: Int)
    }

    /// Bound on a chunk-size line including its (ignored) extensions.
    static let maxChunkSizeLineBytes = 4096

    private let limits: HTTPLimits
    private var buffer: [UInt8] = []
    /// First unconsumed byte of `buffer`.
    private var position = 0
    /// Bytes after `position` already searched for a line feed.
    private var scanOffset = 0
    private var stage = Stage.head
    private var failure: HTTPParseError?

    private var requestLine: RequestLine?
    private var fields: [(name: String, value: String)] = []
    private var headBytes = 0
    private var body: [UInt8] = []

    public init(limits: HTTPLimits) {
        self.limits = limits
    }

    /// Appends received bytes. Ignored once the parser has failed.
    public mutating func feed(_ bytes: [UInt8]) {
        guard failure == nil else { return }
        if position > 0 {
            buffer.removeSubrange(0..<position)
            position = 0
        }
        buffer.append(contentsOf: bytes)
    }

    public mutating func next() -> HTTPParseResult {
        if let failure { return .error(failure) }
        do throws(HTTPParseError) {
            while true {
                if let result = try step() { return result }
            }
        } catch {
            failure = error
            return .error(error)
        }
    }

    /// The request whose body is being read (its `body` still empty), if any.
    var pendingHead: HTTPRequest? {
        switch stage {
        case .head: nil
        case .fixedBody(let request, _), .chunkSize(let request), .chunkData(let request, _),
             .chunkDataEnd(let request), .trailers(let request, _, _): request
        }
    }

    var phase: Phase {
        guard case .head = stage else { return .body }
        return headBytes == 0 && position == buffer.count ? .idle : .head
    }

    /// Makes one unit of progress; nil means "progress made, keep going".
    private mutating func step() throws(HTTPParseError) -> HTTPParseResult? {
        switch stage {
        case .head:
            guard let line = try takeHeadLine() else { return .needMore }
            headBytes += line.count + 2
            guard let requestLine else {
                // Empty lines before the request line are ignored (RFC 9112 §2.2).
                if !line.isEmpty { self.requestLine = try RequestLine(parsing: line) }
                return nil
            }
            if !line.isEmpty {
                guard fields.count < limits.maxHeaderCount else {
                    throw .headTooLarge("more than \(limits.maxHeaderCount) header fields")
                }
                fields.append(try parseFieldLine(line))
                return nil
            }
            return try finishHead(requestLine)

        case .fixedBody(let request, let length):
            guard buffer.count - position >= length else { return .needMore }
            body.append(contentsOf: buffer[position..<(position + length)])
            position += length
            return complete(request)

        case .chunkSize(let request):
            let tooLong = HTTPParseError.badRequest("chunk size line too long")
            guard let line = try takeLine(budget: Self.maxChunkSizeLineBytes, tooLong: tooLong) else {
                return .needMore
            }
            let size = try parseChunkSize(line)
            if size == 0 {
                stage = .trailers(request, bytesSoFar: 0, fieldCount: 0)
            } else if size > limits.maxBodyBytes - body.count {
                throw .bodyTooLarge("request body exceeds \(limits.maxBodyBytes) bytes")
            } else {
                stage = .chunkData(request, remaining: size)
            }
            return nil

        case .chunkData(let request, let remaining):
            let count = min(remaining, buffer.count - position)
            guard count > 0 else { return .needMore }
            body.append(contentsOf: buffer[position..<(position + count)])
            position += count
            stage = count == remaining ? .chunkDataEnd(request) : .chunkData(request, remaining: remaining - count)
            return nil

        case .chunkDataEnd(let request):
            let available = buffer[position...]
            guard available.starts(with: [carriageReturn, lineFeed].prefix(available.count)) else {
                throw .badRequest("chunk data not followed by CRLF")
            }
            guard available.count >= 2 else { return .needMore }
            position += 2
            stage = .chunkSize(request)
            return nil

        case .trailers(let request, let bytesSoFar, let fieldCount):
            let budget = limits.maxHeadBytes - bytesSoFar
            guard let line = try takeLine(budget: budget, tooLong: .headTooLarge("trailer section too large")) else {
                return .needMore
            }
            if line.isEmpty { return complete(request) }
            guard fieldCount < limits.maxHeaderCount else {
                throw .headTooLarge("more than \(limits.maxHeaderCount) trailer fields")
            }
            _ = try parseFieldLine(line)
            stage = .trailers(request, bytesSoFar: bytesSoFar + line.count + 2, fieldCount: fieldCount + 1)
            return nil
        }
    }

    /// Validates the finished head and either yields the request or moves on to its body.
    private mutating func finishHead(_ line: RequestLine) throws(HTTPParseError) -> HTTPParseResult? {
        let head = try RequestHead(line: line, headers: HTTPHeaders(fields))
        let framing = try head.bodyFraming(maxBodyBytes: limits.maxBodyBytes)
        let request = HTTPRequest(
            method: line.method, target: line.target, headers: head.headers, keepAlive: head.keepAlive)
        requestLine = nil
        fields = []
        headBytes = 0
        switch framing {
        case .none: return complete(request)
        case .length(let length): stage = .fixedBody(request, length: length)
        case .chunked: stage = .chunkSize(request)
        }
        return head.expectsContinue && position == buffer.count ? .expectContinue : nil
    }

    private mutating func complete(_ request: HTTPRequest) -> HTTPParseResult {
        var request = request
        request.body = body
        body = []
        stage = .head
        return .request(request)
    }

    /// The next line of the head, bounded by what is left of `maxHeadBytes` and, for the request
    /// line, by `maxRequestLineBytes` (414) when that is the tighter bound.
    private mutating func takeHeadLine() throws(HTTPParseError) -> ArraySlice<UInt8>? {
        let headBudget = limits.maxHeadBytes - headBytes
        let lineBudget = limits.maxRequestLineBytes.addingReportingOverflow(2)
        if requestLine == nil, !lineBudget.overflow, lineBudget.partialValue < headBudget {
            let tooLong = HTTPParseError.requestLineTooLong("request line exceeds \(limits.maxRequestLineBytes) bytes")
            return try takeLine(budget: lineBudget.partialValue, tooLong: tooLong)
        }
        return try takeLine(budget: headBudget, tooLong: .headTooLarge("request head too large"))
    }

    /// Consumes and returns the next CRLF-terminated line (without CRLF), or nil if none is
    /// complete yet. `budget` bounds the line's length including CRLF. The length is checked
    /// before the line ending so that the verdict does not depend on how the input was split.
    private mutating func takeLine(budget: Int, tooLong: HTTPParseError) throws(HTTPParseError) -> ArraySlice<UInt8>? {
        guard let lineFeedIndex = buffer[(position + scanOffset)...].firstIndex(of: lineFeed) else {
            scanOffset = buffer.count - position
            // Even if the last byte is a CR, the line ends no earlier than one byte later.
            if scanOffset >= budget { throw tooLong }
            return nil
        }
        if lineFeedIndex + 1 - position > budget { throw tooLong }
        guard lineFeedIndex > position, buffer[lineFeedIndex - 1] == carriageReturn else { throw .bareLineFeed }
        let line = buffer[position..<(lineFeedIndex - 1)]
        position = lineFeedIndex + 1
        scanOffset = 0
        return line
    }
}

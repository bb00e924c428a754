/// The chunk-size line of a chunked body (RFC 9112 §7.1).

/// Parses `chunk-size *( BWS ";" BWS ext-name [ BWS "=" BWS ext-value ] )` (without the CRLF),
/// e.g. `5` or `1a;name=value`; extensions are validated, then ignored. A size that does not
/// fit in an `Int`, or anything off-grammar, is a 400: a lenient reading here is a smuggling vector.
func parseChunkSize(_ line: ArraySlice<UInt8>) throws(HTTPParseError) -> Int {
    var size = 0
    var index = line.startIndex
    while index < line.endIndex, let digit = hexValue(line[index]) {
        let (shifted, overflowA) = size.multipliedReportingOverflow(by: 16)
        let (sum, overflowB) = shifted.addingReportingOverflow(digit)
        if overflowA || overflowB { throw .badRequest("chunk size out of range") }
        size = sum
        index += 1
    }
    guard index > line.startIndex else { throw .badRequest("invalid chunk size") }
    var scanner = ExtensionScanner(bytes: line[index...])
    guard scanner.scanExtensions() else { throw .badRequest("invalid chunk extension") }
    return size
}

/// Walks chunk extensions; each `scan…` method consumes what it matched.
private struct ExtensionScanner {
    var bytes: ArraySlice<UInt8>

    /// Whether the rest of the line is a well-formed (possibly empty) extension list.
    mutating func scanExtensions() -> Bool {
        while !bytes.isEmpty {
            skipWhitespace()
            guard scan(UInt8(ascii: ";")) else { return false }
            skipWhitespace()
            guard scanToken() else { return false }
            skipWhitespace()
            if scan(UInt8(ascii: "=")) {
                skipWhitespace()
                guard scanToken() || scanQuotedString() else { return false }
            }
        }
        return true
    }

    private mutating func skipWhitespace() {
        bytes = bytes.drop(while: isOptionalWhitespace)
    }

    private mutating func scan(_ byte: UInt8) -> Bool {
        guard bytes.first == byte else { return false }
        bytes.removeFirst()
        return true
    }

    private mutating func scanToken() -> Bool {
        let rest = bytes.drop(while: isTokenByte)
        defer { bytes = rest }
        return rest.startIndex > bytes.startIndex
    }

    /// `DQUOTE *( qdtext / quoted-pair ) DQUOTE` (RFC 9110 §5.6.4).
    private mutating func scanQuotedString() -> Bool {
        guard scan(UInt8(ascii: "\"")) else { return false }
        while let byte = bytes.popFirst() {
            switch byte {
            case UInt8(ascii: "\""):
                return true
            case UInt8(ascii: "\\"):
                guard let escaped = bytes.popFirst(), isFieldValueByte(escaped) else { return false }
            default:
                guard isFieldValueByte(byte) else { return false }
            }
        }
        return false
    }
}

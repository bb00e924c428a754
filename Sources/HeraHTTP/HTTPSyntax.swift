/// Byte classes from RFC 9110 §5.6 used by the parser and the response encoder.

let carriageReturn: UInt8 = 0x0D
let lineFeed: UInt8 = 0x0A
let space: UInt8 = 0x20
let horizontalTab: UInt8 = 0x09

/// tchar: ALPHA / DIGIT / "!#$%&'*+-.^_`|~"
func isTokenByte(_ byte: UInt8) -> Bool {
    switch byte {
    case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
        UInt8(ascii: "0")...UInt8(ascii: "9"):
        return true
    case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"),
        UInt8(ascii: "'"), UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."),
        UInt8(ascii: "^"), UInt8(ascii: "_"), UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"):
        return true
    default:
        return false
    }
}

/// OWS: SP / HTAB
func isOptionalWhitespace(_ byte: UInt8) -> Bool {
    byte == space || byte == horizontalTab
}

func isDigit(_ byte: UInt8) -> Bool {
    byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
}

/// The value of a hexadecimal digit, or nil.
func hexValue(_ byte: UInt8) -> Int? {
    switch byte {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): Int(byte - UInt8(ascii: "0"))
    case UInt8(ascii: "a")...UInt8(ascii: "f"): Int(byte - UInt8(ascii: "a")) + 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): Int(byte - UInt8(ascii: "A")) + 10
    default: nil
    }
}

/// Bytes allowed in a field value: VCHAR, obs-text, SP and HTAB (no NUL, CR, LF or other controls).
func isFieldValueByte(_ byte: UInt8) -> Bool {
    byte == horizontalTab || (byte >= space && byte != 0x7F)
}

extension ArraySlice<UInt8> {
    /// The slice without leading and trailing SP/HTAB.
    func trimmingOWS() -> ArraySlice<UInt8> {
        guard let first = firstIndex(where: { !isOptionalWhitespace($0) }),
            let last = lastIndex(where: { !isOptionalWhitespace($0) })
        else { return self[endIndex...] }
        return self[first...last]
    }
}

extension StringProtocol {
    /// The string without leading and trailing SP/HTAB.
    func trimmingOWS() -> String {
        String(decoding: ArraySlice(utf8).trimmingOWS(), as: UTF8.self)
    }

    /// The comma-separated elements of a list-valued field, trimmed, empty ones kept.
    func listElements() -> [String] {
        split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingOWS() }
    }
}

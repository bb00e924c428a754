/// Live output is cut at arbitrary bytes; a character split across two reads must not turn into
/// replacement characters. This finds where the complete characters end.
enum UTF8Boundary {
    /// The length of the longest prefix of `bytes` that does not end inside a multi-byte
    /// character: an incomplete sequence at the end is held back for the next read.
    static func completePrefixLength(_ bytes: [UInt8]) -> Int {
        var index = bytes.count - 1
        var continuation = 0
        while index >= 0 && continuation < 3 && bytes[index] & 0xC0 == 0x80 {
            continuation += 1
            index -= 1
        }
        guard index >= 0 else { return bytes.count }
        let lead = bytes[index]
        let length = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1
        return length > continuation + 1 ? index : bytes.count
    }
}

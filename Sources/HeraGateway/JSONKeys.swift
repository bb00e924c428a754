/// Finds a key given twice in a JSON object, which JSON decoders silently resolve to one of
/// the values. Only the top level matters: that is where the parameters are. The input has
/// already been decoded successfully, so it is well-formed JSON.
enum JSONKeys {
    static func firstDuplicateTopLevelKey(_ bytes: [UInt8]) -> String? {
        var seen = Set<String>()
        var depth = 0
        var index = 0
        var expectingKey = false
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "{"):
                depth += 1
                expectingKey = depth == 1
            case UInt8(ascii: "["):
                depth += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                depth -= 1
            case UInt8(ascii: ","):
                expectingKey = depth == 1
            case UInt8(ascii: "\""):
                let end = endOfString(bytes, from: index)
                if depth == 1 && expectingKey {
                    // Keys are compared as raw text; an escaped twin ("a" vs "\u0061") is rare
                    // enough to leave to the decoder.
                    let key = String(decoding: bytes[(index + 1)..<end], as: UTF8.self)
                    if !seen.insert(key).inserted { return key }
                    expectingKey = false
                }
                index = end
            default:
                break
            }
            index += 1
        }
        return nil
    }

    /// The index of the quote that closes the string opening at `start`.
    private static func endOfString(_ bytes: [UInt8], from start: Int) -> Int {
        var index = start + 1
        while index < bytes.count {
            if bytes[index] == UInt8(ascii: "\\") { index += 2; continue }
            if bytes[index] == UInt8(ascii: "\"") { return index }
            index += 1
        }
        return bytes.count - 1
    }
}

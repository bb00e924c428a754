import HeraSupport

/// Signing of webhook bodies so receivers can check origin and freshness.
///
/// `Hera-Signature: sha256=<hex>` is the HMAC-SHA256, keyed by the endpoint's secret, of
/// "<Hera-Timestamp>.<body>"; the timestamp is Unix seconds. Receivers recompute it, compare in
/// constant time and reject stale timestamps to stop replays.
public enum WebhookSignature {
    public static let deliveryHeader = "Hera-Delivery"
    public static let timestampHeader = "Hera-Timestamp"
    public static let signatureHeader = "Hera-Signature"

    /// The three header fields to send with a delivery.
    public static func headers(deliveryID: String, timestamp: Int, body: [UInt8], secret: String) -> [(String, String)] {
        [
            (deliveryHeader, deliveryID),
            (timestampHeader, String(timestamp)),
            (signatureHeader, signature(timestamp: timestamp, body: body, secret: secret)),
        ]
    }

    /// "sha256=" and the hex HMAC-SHA256 of "<timestamp>.<body>".
    public static func signature(timestamp: Int, body: [UInt8], secret: String) -> String {
        "sha256=" + Hex.encode(mac(timestamp: timestamp, body: body, secret: secret))
    }

    /// Whether `signature` (the Hera-Signature value) matches `body` and `timestamp` (the
    /// Hera-Timestamp value), and the timestamp is within `tolerance` seconds of `now`.
    public static func verify(body: [UInt8], timestamp: String, signature: String, secret: String,
                              now: Int, tolerance: Int = 300) -> Bool {
        guard let seconds = Int(timestamp), abs(now - seconds) <= tolerance,
              signature.hasPrefix("sha256="), let given = decodeHex(signature.dropFirst("sha256=".count)) else {
            return false
        }
        return Crypto.constantTimeEqual(given, mac(timestamp: seconds, body: body, secret: secret))
    }

    private static func mac(timestamp: Int, body: [UInt8], secret: String) -> [UInt8] {
        Crypto.hmacSHA256(key: Array(secret.utf8), message: Array("\(timestamp).".utf8) + body)
    }

    private static func decodeHex(_ text: Substring) -> [UInt8]? {
        let digits = Array(text.utf8)
        guard digits.count % 2 == 0 else { return nil }
        var bytes: [UInt8] = []
        for index in stride(from: 0, to: digits.count, by: 2) {
            guard let high = Hex.value(digits[index]), let low = Hex.value(digits[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
        }
        return bytes
    }
}

import CCrypto

/// The few cryptographic primitives Hera needs, from OpenSSL's libcrypto.
public enum Crypto {
    /// SHA-256 of `bytes`.
    public static func sha256(_ bytes: [UInt8]) -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        let ok = bytes.withUnsafeBufferPointer { input in
            EVP_Digest(input.baseAddress, input.count, &digest, &length, EVP_sha256(), nil)
        }
        precondition(ok == 1, "EVP_Digest(SHA-256) failed")
        return digest
    }

    /// HMAC-SHA256 of `message` keyed by `key`.
    public static func hmacSHA256(key: [UInt8], message: [UInt8]) -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        let result = key.withUnsafeBufferPointer { k in
            message.withUnsafeBufferPointer { m in
                HMAC(EVP_sha256(), k.baseAddress, Int32(k.count), m.baseAddress, m.count, &digest, &length)
            }
        }
        precondition(result != nil, "HMAC-SHA256 failed")
        return digest
    }

    /// `count` bytes from the operating system's secure random source.
    public static func randomBytes(_ count: Int) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        precondition(RAND_bytes(&bytes, Int32(count)) == 1, "RAND_bytes failed")
        return bytes
    }

    /// Compares two byte strings in time that depends only on their lengths.
    public static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for i in 0..<a.count { difference |= a[i] ^ b[i] }
        return difference == 0
    }

    public static func hex(_ bytes: [UInt8]) -> String { Hex.encode(bytes) }
}

/// API keys: 32 random bytes shown once as hex; only their SHA-256 is stored.
/// A key has 256 bits of entropy, so a fast hash is enough (no password stretching needed).
public enum APIKey {
    public static func generate() -> String { Crypto.hex(Crypto.randomBytes(32)) }
    public static func hash(_ key: String) -> [UInt8] { Crypto.sha256(Array(key.utf8)) }
}

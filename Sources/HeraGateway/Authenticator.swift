import Foundation
import HeraDB
import HeraHTTP
import HeraSupport

/// The account a request acts as, and whether its client is still there to hear the answer.
struct Caller {
    let id: Int
    let name: String
    var isConnected: @Sendable () -> Bool = { true }
}

/// HTTP Basic authentication: account name as the user, API key as the password (the key may
/// contain ':'; the name may not). Accounts read from the database — and names that are not
/// accounts — are cached for `cacheSeconds` (default 5 s), so a rotated key or a disabled
/// account takes effect on every replica within that bound. An unknown account and a wrong key
/// take the same path: the key is hashed and compared in constant time either way.
final class Authenticator: @unchecked Sendable {
    static let defaultCacheSeconds = 5.0
    static let maxCachedAccounts = 10_000

    private struct Entry {
        let id: Int?            // nil: no such account
        let keyHash: [UInt8]
        let disabled: Bool
        let fetched: Date
    }

    /// Compared against when the account does not exist, so that case costs the same.
    private static let absentKeyHash = [UInt8](repeating: 0, count: 32)

    private let pool: PGPool
    private let cacheSeconds: Double
    private let lock = NSLock()
    private var cache: [String: Entry] = [:]

    init(pool: PGPool, cacheSeconds: Double = Authenticator.defaultCacheSeconds) {
        self.pool = pool
        self.cacheSeconds = cacheSeconds
    }

    func authenticate(_ request: HTTPRequest) throws -> Caller {
        guard let (name, key) = Authenticator.credentials(request) else { throw APIError.unauthenticated }
        guard Authenticator.isAccountName(name), !key.isEmpty, key.utf8.count <= 256 else { throw APIError.unauthenticated }
        let entry = try account(name)
        let matches = Crypto.constantTimeEqual(entry.keyHash, APIKey.hash(key))
        guard matches, let id = entry.id, !entry.disabled else { throw APIError.unauthenticated }
        return Caller(id: id, name: name, isConnected: request.isClientConnected)
    }

    /// The account name and key of a single Basic Authorization header, unchecked.
    static func credentials(_ request: HTTPRequest) -> (account: String, key: String)? {
        let headers = request.headers.values(for: "Authorization")
        guard headers.count == 1, let header = headers.first else { return nil }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "basic",
              let decoded = Data(base64Encoded: String(parts[1]).trimmingCharacters(in: .whitespaces)),
              let text = String(data: decoded, encoding: .utf8),
              let colon = text.firstIndex(of: ":") else { return nil }
        return (String(text[..<colon]), String(text[text.index(after: colon)...]))
    }

    /// The shape the accounts table allows: anything else cannot be an account.
    static func isAccountName(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard (1...64).contains(bytes.count), let first = bytes.first, isAlphanumeric(first) else { return false }
        return bytes.allSatisfy { isAlphanumeric($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-") }
    }

    private static func isAlphanumeric(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
            || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
    }

    private func account(_ name: String) throws -> Entry {
        lock.lock()
        if let entry = cache[name], -entry.fetched.timeIntervalSinceNow < cacheSeconds {
            lock.unlock()
            return entry
        }
        lock.unlock()
        let row = try pool.query("SELECT id, key_hash, disabled FROM accounts WHERE name = $1", [name]).first
        let entry = Entry(id: row?.int("id"), keyHash: row?.bytes("key_hash") ?? Authenticator.absentKeyHash,
                          disabled: row?.bool("disabled") ?? true, fetched: Date())
        lock.lock()
        if cache.count >= Authenticator.maxCachedAccounts { cache.removeAll() }
        cache[name] = entry
        lock.unlock()
        return entry
    }
}

import Foundation

/// One JSON object per line on standard error. Never pass secrets as fields.
public enum Log {
    private static let lock = NSLock()

    public static func info(_ message: String, _ fields: [String: Any] = [:]) { write("info", message, fields) }
    public static func warn(_ message: String, _ fields: [String: Any] = [:]) { write("warn", message, fields) }
    public static func error(_ message: String, _ fields: [String: Any] = [:]) { write("error", message, fields) }

    private static func write(_ level: String, _ message: String, _ fields: [String: Any]) {
        var object = fields.mapValues { value -> Any in
            JSONSerialization.isValidJSONObject([value]) ? value : String(describing: value)
        }
        object["level"] = level
        object["msg"] = message
        object["time"] = ISO8601DateFormatter.string(
            from: Date(), timeZone: .gmt, formatOptions: [.withInternetDateTime, .withFractionalSeconds])
        guard var line = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) else { return }
        line.append(0x0a)
        lock.lock()
        FileHandle.standardError.write(line)
        lock.unlock()
    }
}

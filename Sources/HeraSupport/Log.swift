import Foundation
import Glibc

/// One JSON object per line on standard error. Never pass secrets as fields.
public enum Log {
    private static let lock = NSLock()

    public static func info(_ message: String, _ fields: [String: Any] = [:]) { write("info", message, fields) }
    public static func warn(_ message: String, _ fields: [String: Any] = [:]) { write("warn", message, fields) }
    public static func error(_ message: String, _ fields: [String: Any] = [:]) { write("error", message, fields) }

    private static func write(_ level: String, _ message: String, _ fields: [String: Any]) {
        var object = fields
        object["level"] = level
        object["msg"] = message
        object["time"] = timestamp()
        var line = JSONWriter.encode(object)
        line.append(0x0a)
        lock.lock()
        line.withUnsafeBytes { bytes in
            var offset = 0
            while offset < bytes.count {
                let written = Glibc.write(2, bytes.baseAddress! + offset, bytes.count - offset)
                if written <= 0 { if written < 0 && errno == EINTR { continue } else { break } }
                offset += written
            }
        }
        lock.unlock()
    }

    /// UTC, RFC 3339 with milliseconds: "2026-12-03T14:01:50.721Z".
    static func timestamp() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var seconds = now.tv_sec
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        let millis = Int(now.tv_nsec / 1_000_000)
        let fraction = millis < 10 ? "00\(millis)" : millis < 100 ? "0\(millis)" : "\(millis)"
        return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T"
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)).\(fraction)Z"
    }
}

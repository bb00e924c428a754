import Foundation

/// A small, thread-safe registry of Prometheus metrics: counters, gauges and histograms, each a
/// family of series told apart by labels. `render()` writes the text exposition format 0.0.4.
/// Gauges whose value lives elsewhere (a pool's usage, a row count) are set just before
/// rendering by whoever serves the scrape.
public final class Metrics: @unchecked Sendable {
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"
    /// Request latency buckets, in seconds.
    public static let latencyBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]

    public typealias Labels = [(String, String)]

    private enum Kind: String { case counter, gauge, histogram }

    private struct Family {
        let kind: Kind
        let help: String
        let buckets: [Double]
        var values: [String: Double] = [:]             // counter and gauge: label text → value
        var histograms: [String: Histogram] = [:]      // histogram: label text → observations
    }

    private struct Histogram {
        var counts: [Int]     // per bucket, not cumulative; the last is +Inf
        var sum = 0.0
    }

    private let lock = NSLock()
    private var families: [String: Family] = [:]
    private var order: [String] = []

    public init() {}

    public func counter(_ name: String, help: String) { declare(name, .counter, help) }
    public func gauge(_ name: String, help: String) { declare(name, .gauge, help) }
    public func histogram(_ name: String, help: String, buckets: [Double] = Metrics.latencyBuckets) {
        declare(name, .histogram, help, buckets: buckets.sorted())
    }

    /// Adds `by` to a counter (or a gauge) series, creating it at 0 first.
    public func increment(_ name: String, _ labels: Labels = [], by amount: Double = 1) {
        update(name, labels) { $0 += amount }
    }

    public func set(_ name: String, _ labels: Labels = [], to value: Double) {
        update(name, labels) { $0 = value }
    }

    /// Removes every series of a gauge, before setting afresh the ones that exist now.
    public func reset(_ name: String) {
        lock.withLock { families[name]?.values.removeAll() }
    }

    public func observe(_ name: String, _ labels: Labels = [], _ value: Double) {
        lock.withLock {
            guard var family = families[name], family.kind == .histogram else { return }
            let key = Metrics.labelText(labels)
            var histogram = family.histograms[key] ?? Histogram(counts: Array(repeating: 0, count: family.buckets.count + 1))
            let bucket = family.buckets.firstIndex { value <= $0 } ?? family.buckets.count
            histogram.counts[bucket] += 1
            histogram.sum += value
            family.histograms[key] = histogram
            families[name] = family
        }
    }

    /// The current value of one series (for tests and for whoever derives a figure from it).
    public func value(_ name: String, _ labels: Labels = []) -> Double? {
        lock.withLock { families[name]?.values[Metrics.labelText(labels)] }
    }

    /// Every family in the order declared, series sorted by their labels.
    public func render() -> String {
        lock.withLock {
            var text = ""
            for name in order {
                guard let family = families[name] else { continue }
                text += "# HELP \(name) \(Metrics.escapeHelp(family.help))\n# TYPE \(name) \(family.kind.rawValue)\n"
                if family.kind == .histogram {
                    for key in family.histograms.keys.sorted() {
                        text += Metrics.renderHistogram(name, key, family.histograms[key]!, family.buckets)
                    }
                } else {
                    for key in family.values.keys.sorted() {
                        text += "\(name)\(Metrics.braced(key)) \(Metrics.number(family.values[key]!))\n"
                    }
                }
            }
            return text
        }
    }

    private func declare(_ name: String, _ kind: Kind, _ help: String, buckets: [Double] = []) {
        lock.withLock {
            guard families[name] == nil else { return }
            families[name] = Family(kind: kind, help: help, buckets: buckets)
            order.append(name)
        }
    }

    private func update(_ name: String, _ labels: Labels, _ change: (inout Double) -> Void) {
        lock.withLock {
            guard families[name] != nil, families[name]!.kind != .histogram else { return }
            change(&families[name]!.values[Metrics.labelText(labels), default: 0])
        }
    }

    private static func renderHistogram(_ name: String, _ key: String, _ histogram: Histogram, _ buckets: [Double]) -> String {
        var text = ""
        var cumulative = 0
        for (index, bound) in (buckets.map(number) + ["+Inf"]).enumerated() {
            cumulative += histogram.counts[index]
            let labels = (key.isEmpty ? "" : key + ",") + "le=\"\(bound)\""
            text += "\(name)_bucket{\(labels)} \(cumulative)\n"
        }
        text += "\(name)_sum\(braced(key)) \(number(histogram.sum))\n"
        text += "\(name)_count\(braced(key)) \(cumulative)\n"
        return text
    }

    /// `a="x",b="y"` with label values escaped (backslash, double quote, newline).
    static func labelText(_ labels: Labels) -> String {
        labels.map { name, value in
            let escaped = value.replacingOccurrences(of: "\\", with: "\\\\")
                .replacingOccurrences(of: "\"", with: "\\\"")
                .replacingOccurrences(of: "\n", with: "\\n")
            return "\(name)=\"\(escaped)\""
        }.joined(separator: ",")
    }

    private static func braced(_ key: String) -> String { key.isEmpty ? "" : "{\(key)}" }

    private static func escapeHelp(_ help: String) -> String {
        help.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\n", with: "\\n")
    }

    /// Integers without a fraction; others as Swift prints a Double (which Prometheus parses).
    static func number(_ value: Double) -> String {
        if value == .infinity { return "+Inf" }
        if value.isNaN { return "NaN" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return String(value)
    }
}

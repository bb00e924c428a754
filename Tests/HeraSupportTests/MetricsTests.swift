import XCTest
@testable import HeraSupport

final class MetricsTests: XCTestCase {
    func testCountersAndGaugesRenderWithHelpTypeAndSortedLabels() {
        let metrics = Metrics()
        metrics.counter("hera_requests_total", help: "Requests answered.")
        metrics.gauge("hera_pool_in_use", help: "Connections in use.")
        metrics.increment("hera_requests_total", [("route", "POST /sandbox/"), ("status", "200")])
        metrics.increment("hera_requests_total", [("route", "GET /healthz"), ("status", "200")], by: 2)
        metrics.increment("hera_requests_total", [("route", "POST /sandbox/"), ("status", "200")])
        metrics.set("hera_pool_in_use", to: 3)
        XCTAssertEqual(metrics.render(), """
            # HELP hera_requests_total Requests answered.
            # TYPE hera_requests_total counter
            hera_requests_total{route="GET /healthz",status="200"} 2
            hera_requests_total{route="POST /sandbox/",status="200"} 2
            # HELP hera_pool_in_use Connections in use.
            # TYPE hera_pool_in_use gauge
            hera_pool_in_use 3

            """)
    }

    func testHistogramBucketsAreCumulativeWithInfSumAndCount() {
        let metrics = Metrics()
        metrics.histogram("latency_seconds", help: "Latency.", buckets: [0.1, 1])
        for value in [0.05, 0.5, 0.5, 3] { metrics.observe("latency_seconds", [("route", "r")], value) }
        XCTAssertEqual(metrics.render(), """
            # HELP latency_seconds Latency.
            # TYPE latency_seconds histogram
            latency_seconds_bucket{route="r",le="0.1"} 1
            latency_seconds_bucket{route="r",le="1"} 3
            latency_seconds_bucket{route="r",le="+Inf"} 4
            latency_seconds_sum{route="r"} 4.05
            latency_seconds_count{route="r"} 4

            """)
    }

    func testLabelValuesAndHelpAreEscaped() {
        let metrics = Metrics()
        metrics.gauge("g", help: "a \\ b\nc")
        metrics.set("g", [("v", "q\"uote\\back\nline")], to: 1.5)
        XCTAssertEqual(metrics.render(), """
            # HELP g a \\\\ b\\nc
            # TYPE g gauge
            g{v="q\\"uote\\\\back\\nline"} 1.5

            """)
    }

    func testResetDropsGaugeSeriesAndUndeclaredNamesAreIgnored() {
        let metrics = Metrics()
        metrics.gauge("sandboxes", help: "By state.")
        metrics.set("sandboxes", [("state", "running")], to: 2)
        metrics.reset("sandboxes")
        metrics.set("sandboxes", [("state", "queued")], to: 1)
        metrics.increment("undeclared")
        XCTAssertEqual(metrics.render(), "# HELP sandboxes By state.\n# TYPE sandboxes gauge\nsandboxes{state=\"queued\"} 1\n")
        XCTAssertNil(metrics.value("sandboxes", [("state", "running")]))
    }

    func testConcurrentIncrementsAreAllCounted() {
        let metrics = Metrics()
        metrics.counter("c", help: "C.")
        DispatchQueue.concurrentPerform(iterations: 8) { _ in
            for _ in 0..<1000 { metrics.increment("c") }
        }
        XCTAssertEqual(metrics.value("c"), 8000)
    }
}

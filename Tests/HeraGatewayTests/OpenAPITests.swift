import Foundation
import XCTest
@testable import HeraGateway

/// The OpenAPI document matches the router, and is valid OpenAPI 3.
final class OpenAPITests: XCTestCase {
    private func document() throws -> [String: Any] {
        try XCTUnwrap(JSONSerialization.jsonObject(with: Data(OpenAPI.document.utf8)) as? [String: Any])
    }

    private static func openAPIPath(_ pattern: String) -> String {
        pattern.split(separator: "/", omittingEmptySubsequences: false)
            .map { $0.hasPrefix(":") ? "{\($0.dropFirst())}" : String($0) }.joined(separator: "/")
    }

    func testEveryRouteIsDocumented() throws {
        let paths = try XCTUnwrap(try document()["paths"] as? [String: [String: Any]])
        for route in Gateway.routes {
            let path = OpenAPITests.openAPIPath(route.pattern)
            XCTAssertNotNil(paths[path]?[route.method.lowercased()], "\(route.method) \(route.pattern) is not in the OpenAPI document")
        }
        for path in Gateway.publicPaths {
            XCTAssertNotNil(paths[path]?["get"], "GET \(path) is not in the OpenAPI document")
        }
    }

    func testEveryDocumentedOperationIsARoute() throws {
        let paths = try XCTUnwrap(try document()["paths"] as? [String: [String: Any]])
        let routes = Set(Gateway.routes.map { "\($0.method.lowercased()) \(OpenAPITests.openAPIPath($0.pattern))" }
                         + Gateway.publicPaths.map { "get \($0)" })
        for (path, operations) in paths {
            for method in operations.keys {
                XCTAssertTrue(routes.contains("\(method) \(path)"), "\(method) \(path) is documented but not routed")
            }
        }
    }

    /// openapi-spec-validator from PyPI (installed by deploy/scripts/install-deps).
    func testDocumentValidates() throws {
        let file = NSTemporaryDirectory() + "hera-openapi-\(getpid()).json"
        try OpenAPI.document.write(toFile: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: file) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", "import sys, json; from openapi_spec_validator import validate; validate(json.load(open(sys.argv[1]))); print('valid')", file]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0, "the OpenAPI document does not validate (or the validator is missing): \(text)")
    }
}

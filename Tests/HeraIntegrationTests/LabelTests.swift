import Foundation
import XCTest

/// Labels on create, shown on get, filtered on list; bad ones refused.
final class LabelTests: ClusterTestCase {

    func testLabelsAreShownAndFilterTheList() throws {
        let blue = try cluster.createSandbox(client, extra: [("labels", #"{"team": "blue", "job.id": "a:1"}"#)])
        let red = try cluster.createSandbox(client, extra: [("labels", #"{"team": "red"}"#)])
        _ = try cluster.createSandbox(client)
        XCTAssertEqual(try client.get("/sandbox/\(blue)").json["labels"] as? [String: String], ["team": "blue", "job.id": "a:1"])
        func listed(_ filter: String) throws -> [String] {
            let response = try client.get("/sandbox/?label=" + TestClient.encode(filter))
            XCTAssertEqual(response.status, 200, response.text)
            return (response.json["sandboxes"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
        }
        XCTAssertEqual(try listed("team:blue"), [blue])
        XCTAssertEqual(try listed("team:red"), [red])
        XCTAssertEqual(try listed("job.id:a:1"), [blue])
        XCTAssertEqual(try listed("team:green"), [])
    }

    func testBadLabelsAreRefused() throws {
        let tooMany = "{" + (0..<17).map { "\"k\($0)\": \"v\"" }.joined(separator: ", ") + "}"
        for labels in [tooMany, #"{"Upper": "v"}"#, #"{"": "v"}"#, "{\"k\": \"\(String(repeating: "v", count: 257))\"}",
                       "{\"\(String(repeating: "k", count: 65))\": \"v\"}", #"{"k": 1}"#] {
            let response = try client.post("/sandbox/", [("memory", "64"), ("timeout", "10"), ("template", "busybox"), ("labels", labels)])
            XCTAssertEqual(response.status, 400, "\(labels): \(response.text)")
        }
        XCTAssertEqual(try client.get("/sandbox/?label=novalue").status, 400)
    }
}

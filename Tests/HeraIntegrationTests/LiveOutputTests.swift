import Foundation
import XCTest

/// A running command's output can be followed in pieces.
final class LiveOutputTests: ClusterTestCase {

    func testOutputOfALoopArrivesInPiecesWhileItRuns() throws {
        let id = try cluster.createSandbox(client)
        let queued = try client.post("/sandbox/\(id)/exec", [("command", "for i in 1 2 3; do echo $i; sleep 1; done"), ("sync", "false")])
        guard let exec = queued.json["exec_id"] as? Int else { return XCTFail(queued.text) }
        var pieces: [String] = []
        var offset = 0
        var finished = false
        while !finished {
            let response = try client.get("/sandbox/\(id)/exec/\(exec)?stdout_offset=\(offset)&wait=10")
            XCTAssertEqual(response.status, 200, response.text)
            let piece = response.json["stdout"] as? String ?? ""
            if !piece.isEmpty { pieces.append(piece) }
            offset = response.json["stdout_offset"] as? Int ?? offset
            finished = response.json["finished"] as? Bool ?? true
            if finished { XCTAssertEqual(response.json["code"] as? Int, 0) }
        }
        XCTAssertEqual(pieces.joined(), "1\n2\n3\n")
        XCTAssertGreaterThanOrEqual(pieces.count, 2, "\(pieces)")
    }

    /// A character whose bytes arrive in two pieces is never shown as replacement characters.
    func testACharacterSplitAcrossPiecesArrivesWhole() throws {
        let id = try cluster.createSandbox(client)
        let queued = try client.post("/sandbox/\(id)/exec", [("command", #"printf 'A\360\237'; sleep 1.5; printf '\230\200B'"#),
                                                           ("sync", "false")])
        guard let exec = queued.json["exec_id"] as? Int else { return XCTFail(queued.text) }
        var text = ""
        var offset = 0
        var finished = false
        while !finished {
            let response = try client.get("/sandbox/\(id)/exec/\(exec)?stdout_offset=\(offset)&wait=10").json
            text += response["stdout"] as? String ?? ""
            offset = response["stdout_offset"] as? Int ?? offset
            finished = response["finished"] as? Bool ?? true
        }
        XCTAssertEqual(text, "A\u{1F600}B")
    }

    func testWaitIsBounded() throws {
        let id = try cluster.createSandbox(client)
        let queued = try client.post("/sandbox/\(id)/exec", [("command", "true")])
        let exec = queued.json["exec_id"] as? Int ?? 0
        XCTAssertEqual(try client.get("/sandbox/\(id)/exec/\(exec)?wait=31").status, 400)
    }
}

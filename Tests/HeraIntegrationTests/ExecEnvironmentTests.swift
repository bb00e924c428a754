import Foundation
import XCTest

/// env, cwd and stdin reach the command; bad ones are refused.
final class ExecEnvironmentTests: ClusterTestCase {

    func testEnvCwdAndStdinParameterReachTheProcess() throws {
        let id = try cluster.createSandbox(client)
        let response = try client.post("/sandbox/\(id)/exec", [
            ("command", #"echo "$GREETING $HOME $PATH"; pwd; cat"#), ("env", #"{"GREETING": "hello world"}"#),
            ("cwd", "/etc"), ("stdin", "from stdin"),
        ])
        XCTAssertEqual(response.status, 200, response.text)
        XCTAssertEqual(response.json["stdout"] as? String,
                       "hello world /tmp /usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin\n/etc\nfrom stdin")
    }

    func testRawBodyIsStdinAndParametersComeFromTheQuery() throws {
        let id = try cluster.createSandbox(client)
        let bytes: [UInt8] = (0..<256).map { UInt8($0) } + [0, 0, 255]
        let response = try client.send("POST", "/sandbox/\(id)/exec?args=%5B%22wc%22%2C%22-c%22%5D", body: bytes,
                                       contentType: "application/octet-stream")
        XCTAssertEqual(response.status, 200, response.text)
        XCTAssertEqual((response.json["stdout"] as? String)?.trimmingCharacters(in: .whitespacesAndNewlines), "259")
    }

    func testBadEnvAndCwdAreRefused() throws {
        let id = try cluster.createSandbox(client)
        for (name, value) in [("env", #"{"1X": "a"}"#), ("env", #"{"A=B": "a"}"#), ("env", #"{"A": "a\u0000b"}"#),
                              ("env", #"["A"]"#), ("env", #"{"A": 1}"#), ("cwd", "relative")] {
            let response = try client.post("/sandbox/\(id)/exec", [("command", "true"), (name, value)])
            XCTAssertEqual(response.status, 400, "\(name)=\(value): \(response.text)")
        }
    }
}

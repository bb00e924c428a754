import XCTest

/// A test case on a fresh one-node cluster: a real node worker "n1" and one gateway, with a
/// client for the test account. Subclasses may change the gateway's maximum timeout.
class ClusterTestCase: XCTestCase {
    var cluster: TestCluster!
    var client: TestClient!

    /// The gateway's --max-timeout for this test case.
    var maxTimeout: Int { 600 }

    override func setUpWithError() throws {
        requireRoot()
        cluster = try TestCluster()
        try cluster.addNode("n1")
        client = try cluster.addGateway(maxTimeout: maxTimeout)
    }

    override func tearDown() {
        cluster?.shutdown()
    }
}

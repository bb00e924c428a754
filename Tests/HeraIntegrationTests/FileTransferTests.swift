import Foundation
import XCTest

/// Upload (unpack) and download, through the gateway, into and out of a real sandbox.
final class FileTransferTests: ClusterTestCase {

    private func unpack(_ id: String, _ archive: [UInt8], _ query: String) throws -> TestResponse {
        try client.send("POST", "/sandbox/\(id)/unpack?" + query, body: archive, contentType: "application/octet-stream")
    }

    private func run(_ id: String, _ command: String) throws -> String {
        try client.post("/sandbox/\(id)/exec", [("command", command)]).json["stdout"] as? String ?? ""
    }

    func testTarGzAndZipAreUnpackedInside() throws {
        let id = try cluster.createSandbox(client)
        let tarGz = try ArchiveMaker.make("""
            t = tar('w:gz')
            entry(t, 'dir', tarfile.DIRTYPE)
            entry(t, 'dir/a.txt', data=b'from tar')
            entry(t, 'dir/link', tarfile.SYMTYPE, link='a.txt')
            t.close()
            """)
        let tarred = try unpack(id, tarGz, "target=/tmp/up&archive_type=tar&compress_type=gz")
        XCTAssertEqual(tarred.status, 200, tarred.text)
        XCTAssertEqual(try run(id, "cat /tmp/up/dir/a.txt; echo; cat /tmp/up/dir/link"), "from tar\nfrom tar")
        let zip = try ArchiveMaker.make("""
            z = zipfile.ZipFile(out, 'w', zipfile.ZIP_DEFLATED)
            z.writestr('sub/b.txt', 'from zip')
            z.close()
            """)
        let zipped = try unpack(id, zip, "target=/tmp/zipped&archive_type=zip")
        XCTAssertEqual(zipped.status, 200, zipped.text)
        XCTAssertEqual(try run(id, "cat /tmp/zipped/sub/b.txt"), "from zip")
    }

    func testHostileArchivesAreRefusedAndTouchNothing() throws {
        let id = try cluster.createSandbox(client)
        let mark = "hera-escape-\(UUID().uuidString.prefix(8))"
        let hostile: [(String, String, String)] = [
            ("parent", "t = tar(); entry(t, '../\(mark)', data=b'x'); t.close()", ".."),
            ("absolute", "t = tar(); entry(t, '/tmp/\(mark)', data=b'x'); t.close()", "absolute"),
            ("symlink to / then a file through it",
             "t = tar(); entry(t, 's', tarfile.SYMTYPE, link='/'); entry(t, 's/tmp/\(mark)', data=b'x'); t.close()", "s"),
            ("symlink out by ..", "t = tar(); entry(t, 'a/s', tarfile.SYMTYPE, link='../../tmp'); entry(t, 'a/s/\(mark)', data=b'x'); t.close()",
             "outside"),
            ("file through an inside symlink", "t = tar(); entry(t, 's', tarfile.SYMTYPE, link='.'); entry(t, 's/\(mark)', data=b'x'); t.close()",
             "through the symlink"),
            ("hardlink to /etc/passwd", "t = tar(); entry(t, '\(mark)', tarfile.LNKTYPE, link='/etc/passwd'); t.close()", "absolute"),
            ("hardlink by ..", "t = tar(); entry(t, '\(mark)', tarfile.LNKTYPE, link='../../etc/passwd'); t.close()", ".."),
            ("device", "t = tar(); entry(t, '\(mark)', tarfile.CHRTYPE); t.close()", "device"),
            ("fifo", "t = tar(); entry(t, '\(mark)', tarfile.FIFOTYPE); t.close()", "FIFO"),
            ("very long name", "t = tar(); entry(t, 'd/' + 'x' * 300 + '/\(mark)', data=b'x'); t.close()", "longer than"),
            ("very long path", "t = tar(); entry(t, '/'.join(['d' * 200] * 8) + '/\(mark)', data=b'x'); t.close()", "longer than"),
            ("pax path", "t = tar(fmt=tarfile.PAX_FORMAT); entry(t, 'ok', data=b'x', pax={'path': '../\(mark)'}); t.close()", ".."),
            ("zip parent", "z = zipfile.ZipFile(out, 'w'); z.writestr('../\(mark)', 'x'); z.close()", ".."),
            ("zip symlink",
             "z = zipfile.ZipFile(out, 'w'); i = zipfile.ZipInfo('\(mark)'); i.create_system = 3; i.external_attr = 0o120777 << 16; z.writestr(i, '/etc'); z.close()",
             "symlink"),
        ]
        for (what, script, reason) in hostile {
            let archive = try ArchiveMaker.make(script)
            let type = script.contains("zipfile.ZipFile") ? "zip" : "tar"
            let response = try unpack(id, archive, "target=/tmp/in/deep&archive_type=\(type)")
            XCTAssertEqual(response.status, 400, "\(what): \(response.text)")
            let message = response.json["message"] as? String ?? ""
            XCTAssertTrue(message.contains("archive entry") && message.contains(reason), "\(what): \(message)")
        }
        for directory in ["/", "/tmp", "/etc", TestCluster.testDirectory, TestCluster.testDirectory + "/templates/busybox/tmp"] {
            XCTAssertFalse(FileManager.default.fileExists(atPath: directory + "/" + mark), "\(mark) appeared in \(directory) on the host")
        }
        XCTAssertEqual(try run(id, "find / -xdev -name '\(mark)*' 2>/dev/null; ls -A /tmp"), "", "something was unpacked in the sandbox")
    }

    func testDownloadRoundTripsAFileAndADirectoryExactly() throws {
        let id = try cluster.createSandbox(client)
        let bytes = (0..<300_000).map { _ in UInt8.random(in: 0...255) }
        let written = try client.send("POST", "/sandbox/\(id)/exec?command=" + TestClient.encode("mkdir -p /tmp/d/e && cat > /tmp/d/e/f"),
                                      body: bytes, contentType: "application/octet-stream")
        XCTAssertEqual(written.json["code"] as? Int, 0, written.text)
        let file = try client.get("/sandbox/\(id)/download?path=/tmp/d/e/f")
        XCTAssertEqual(file.status, 200)
        XCTAssertEqual(file.headers["Content-Type"], "application/octet-stream")
        XCTAssertTrue(file.body == bytes, "the file came back different")

        let directory = try client.get("/sandbox/\(id)/download?path=/tmp/d")
        XCTAssertEqual(directory.status, 200)
        XCTAssertEqual(directory.headers["Content-Type"], "application/x-tar")
        let unpacked = TestCluster.testDirectory + "/download-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: unpacked, withIntermediateDirectories: true)
        let tarFile = unpacked + ".tar"
        FileManager.default.createFile(atPath: tarFile, contents: Data(directory.body))
        let tar = Process()
        tar.executableURL = URL(fileURLWithPath: "/bin/tar")
        tar.arguments = ["-x", "-f", tarFile, "-C", unpacked]
        try tar.run()
        tar.waitUntilExit()
        XCTAssertEqual(tar.terminationStatus, 0)
        XCTAssertTrue(FileManager.default.contents(atPath: unpacked + "/e/f").map(Array.init) == bytes, "the directory came back different")
    }

    func testDownloadOfAMissingOrTooLargeFile() throws {
        let id = try cluster.createSandbox(client, memory: 128)
        XCTAssertEqual(try client.get("/sandbox/\(id)/download?path=/nothing/here").status, 404)
        XCTAssertEqual(try client.get("/sandbox/\(id)/download?path=relative").status, 400)
        _ = try run(id, "head -c 9000000 /dev/zero > /tmp/big")
        let big = try client.get("/sandbox/\(id)/download?path=/tmp/big")
        XCTAssertEqual(big.status, 413, big.text)
        // An endless file is cut at the limit where it is read: the answer comes at once.
        let start = Date()
        XCTAssertEqual(try client.get("/sandbox/\(id)/download?path=/dev/zero").status, 413)
        XCTAssertLessThan(-start.timeIntervalSinceNow, 10)
    }

    func testZipThatUnpacksPastTheLimitIsRefusedBeforeUnpacking() throws {
        let id = try cluster.createSandbox(client, memory: 128)
        let bomb = try ArchiveMaker.make("""
            z = zipfile.ZipFile(out, 'w', zipfile.ZIP_DEFLATED)
            z.writestr('zeros', b'\\0' * (20 << 20))
            z.close()
            """)
        let refused = try unpack(id, bomb, "target=/tmp/bomb&archive_type=zip")
        XCTAssertEqual(refused.status, 413, refused.text)
        XCTAssertEqual(try run(id, "ls /tmp/bomb 2>/dev/null | wc -l"), "0\n")
    }
}

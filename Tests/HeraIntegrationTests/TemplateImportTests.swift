import Foundation
import XCTest

/// `hera template import` of a directory or a tarball into a node's template store: the copy
/// belongs to the sandbox user, the node reports holding it, sandboxes run from it, and a hostile
/// tarball writes nothing outside the store.
final class TemplateImportTests: ClusterTestCase {
    private var store: String { cluster.templateStore(node: "n1") }

    private func importTemplate(_ source: String, _ extra: String...) throws -> HeraCommand.Outcome {
        try HeraCommand(databaseURL: cluster.databaseURL).run(["template", "import", source, "--template-dir", store] + extra)
    }

    private func tarball(_ name: String, of directory: String) throws -> String {
        let path = TestCluster.testDirectory + "/" + name
        let tar = Process()
        tar.executableURL = URL(fileURLWithPath: "/bin/tar")
        tar.arguments = ["-czf", path, "-C", directory, "."]
        try tar.run()
        tar.waitUntilExit()
        XCTAssertEqual(tar.terminationStatus, 0)
        return path
    }

    private func output(_ template: String, _ command: String) throws -> String {
        let created = try client.post("/sandbox/", [("memory", "64"), ("timeout", "60"), ("template", template)])
        XCTAssertEqual(created.status, 200, created.text)
        let id = try XCTUnwrap(created.json["id"] as? String)
        let response = try client.post("/sandbox/\(id)/exec", [("command", command), ("sync", "true")])
        XCTAssertEqual(response.status, 200, response.text)
        return response.json["stdout"] as? String ?? ""
    }

    func testATarballAndADirectoryImportAndRun() throws {
        let busybox = TestCluster.testDirectory + "/templates/busybox"
        let archive = try tarball("imported-os.tar.gz", of: busybox)
        let outcome = try importTemplate(archive, "--public")
        XCTAssertEqual(outcome.status, 0, outcome.stderr)
        XCTAssertTrue(outcome.stderr.contains("held by nodes: n1"), outcome.stderr)
        let id = try XCTUnwrap(Int(outcome.stdout.trimmingCharacters(in: .newlines)))
        let row = try XCTUnwrap(cluster.connection.query("SELECT name, rootfs FROM templates WHERE id = $1", [String(id)]).first)
        XCTAssertEqual(row["name"], "imported-os", "the name is the file's without extensions")
        let rootfs = try XCTUnwrap(row["rootfs"])
        XCTAssertTrue(rootfs.hasPrefix(store + "/imported-os-"), rootfs)
        var info = stat()
        XCTAssertEqual(lstat(rootfs + "/etc/passwd", &info), 0)
        XCTAssertEqual(info.st_uid, 65534)
        XCTAssertEqual(try output("imported-os", "echo changed > /etc/hostname && cat /etc/hostname && ls /bin/sh"), "changed\n/bin/sh\n")
        XCTAssertEqual(try String(contentsOfFile: rootfs + "/etc/hostname", encoding: .utf8), "sandbox\n", "the template is never written")

        let fromDirectory = try importTemplate(busybox, "--name", "dir-copy", "--owner", cluster.account)
        XCTAssertEqual(fromDirectory.status, 0, fromDirectory.stderr)
        XCTAssertEqual(try output("dir-copy", "cat /etc/hostname"), "sandbox\n")

        let again = try importTemplate(archive, "--public")
        XCTAssertNotEqual(again.status, 0)
        XCTAssertTrue(again.stderr.contains("template imported-os exists"), again.stderr)
        let unusable = try importTemplate(busybox, "--name", "nobodys")
        XCTAssertTrue(unusable.stderr.contains("can be used by no account"), unusable.stderr)
        XCTAssertNotEqual(try importTemplate(busybox, "--name", "123").status, 0, "an all-digit name would read as an id")
        XCTAssertNotEqual(try importTemplate(TestCluster.testDirectory + "/no-such-file").status, 0)
        XCTAssertNotEqual(try importTemplate(archive, "--name", "bad/name").status, 0)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: store).filter { $0.hasPrefix(".partial-") }, [],
                       "a failed import leaves nothing half-written")
    }

    /// Found by an attacker: a bad --owner, name or --min-memory-mb was noticed only after the
    /// copy (an --owner with ../ even wrote outside the store), and a small archive of zeros
    /// unpacked to gigabytes.
    func testAnImportRefusedForAnyReasonLeavesNoCopy() throws {
        let busybox = TestCluster.testDirectory + "/templates/busybox"
        let zeros = try ArchiveMaker.make("""
            t = tar('w:gz'); entry(t, 'zeros', data=bytes(3 << 20)); t.close()
            """)
        let bomb = TestCluster.testDirectory + "/zeros.tar.gz"
        FileManager.default.createFile(atPath: bomb, contents: Data(zeros))
        let spaced = TestCluster.testDirectory + "/spaced-owner.tar"   // an owner name with spaces shifted tar's columns
        FileManager.default.createFile(atPath: spaced, contents: Data(try ArchiveMaker.make("""
            t = tar(fmt=tarfile.PAX_FORMAT); i = tarfile.TarInfo('big'); i.size = 3 << 20; i.uname = 'a b c d'
            t.addfile(i, io.BytesIO(bytes(3 << 20))); t.close()
            """)))
        let many = TestCluster.testDirectory + "/many.tar"
        FileManager.default.createFile(atPath: many, contents: Data(try ArchiveMaker.make("""
            t = tar()
            for n in range(50): entry(t, 'f%d' % n)
            t.close()
            """)))
        let before = try FileManager.default.contentsOfDirectory(atPath: store)
        let hera = HeraCommand(databaseURL: cluster.databaseURL)
        for (arguments, message) in [([busybox, "--owner", "../../../../tmp/escape"], "no account"),
                                     ([busybox, "--owner", "nosuchaccount"], "no account"),
                                     ([busybox, "--name", "nl\n"], "template name"),
                                     ([busybox, "--name", "x", "--min-memory-mb", "0"], "--min-memory-mb must be positive"),
                                     ([bomb, "--max-size-mb", "2"], "3 MB, more than --max-size-mb 2"),
                                     ([spaced, "--max-size-mb", "2"], "3 MB, more than --max-size-mb 2"),
                                     ([many, "--max-files", "10"], "50 members, more than --max-files 10")] {
            let outcome = try hera.run(["template", "import"] + arguments + ["--template-dir", store])
            XCTAssertNotEqual(outcome.status, 0, "\(arguments)")
            XCTAssertTrue(outcome.stderr.contains(message), "\(arguments): \(outcome.stderr)")
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: store), before, "\(arguments) left a copy")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: "/tmp/escape-busybox"))
        XCTAssertEqual(try importTemplate(bomb, "--max-size-mb", "3", "--public").status, 0, "at the bound is fine")
    }

    func testPruneDeletesOnlyWhatNoTemplateUses() throws {
        let kept = try importTemplate(TestCluster.testDirectory + "/templates/busybox", "--name", "kept")
        let dropped = try importTemplate(TestCluster.testDirectory + "/templates/busybox", "--name", "dropped")
        XCTAssertEqual(kept.status, 0, kept.stderr)
        XCTAssertEqual(dropped.status, 0, dropped.stderr)
        // A template deeper inside an entry keeps the entry; an empty leftover goes.
        XCTAssertEqual(mkdir(store + "/holder", 0o700), 0)
        XCTAssertEqual(mkdir(store + "/holder/rootfs", 0o755), 0)
        _ = try cluster.addTemplate(name: "nested", rootfs: store + "/holder/rootfs/")
        XCTAssertEqual(mkdir(store + "/leftover", 0o700), 0)
        let rootfs = { (name: String) in try XCTUnwrap(self.cluster.connection.query(
            "SELECT rootfs FROM templates WHERE name = $1", [name]).first?["rootfs"]) }
        let droppedPath = try rootfs("dropped")
        let hera = HeraCommand(databaseURL: cluster.databaseURL)
        XCTAssertEqual(try hera.run(["template", "remove", "dropped"]).status, 0)
        let dry = try hera.run(["template", "prune", "--template-dir", store, "--dry-run"])
        XCTAssertEqual(dry.stdout, droppedPath + "\n" + store + "/leftover\n", dry.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: droppedPath), "a dry run deletes nothing")
        XCTAssertEqual(try hera.run(["template", "prune", "--template-dir", store]).stdout, dry.stdout)
        XCTAssertFalse(FileManager.default.fileExists(atPath: droppedPath))
        XCTAssertTrue(FileManager.default.fileExists(atPath: try rootfs("kept") + "/bin/busybox"))
        XCTAssertTrue(FileManager.default.fileExists(atPath: store + "/holder/rootfs"))
        XCTAssertEqual(try hera.run(["template", "prune", "--template-dir", store]).stdout, "")

        // Found by an attacker: prune on any folder chmodded (or created) it, and would have emptied it.
        let notAStore = TestCluster.testDirectory + "/not-a-store-\(UUID().uuidString)"
        XCTAssertEqual(mkdir(notAStore, 0o755), 0)
        XCTAssertEqual(mkdir(notAStore + "/precious", 0o755), 0)
        let refused = try hera.run(["template", "prune", "--template-dir", notAStore])
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.stderr.contains("is not a template store"), refused.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: notAStore + "/precious"))
        var info = stat()
        XCTAssertEqual(stat(notAStore, &info), 0)
        XCTAssertEqual(info.st_mode & 0o777, 0o755)
        XCTAssertNotEqual(try hera.run(["template", "prune", "--dry-run", "--template-dir", notAStore + "/missing"]).status, 0)
        XCTAssertFalse(FileManager.default.fileExists(atPath: notAStore + "/missing"))
    }

    /// Found by an attacker: imports of one name at once all "succeeded", the last one's copy won
    /// and the others' stayed behind; a prune during an import or a save deleted its directory.
    func testImportsAndPrunesAtOnceLoseNothing() throws {
        let busybox = TestCluster.testDirectory + "/templates/busybox"
        let databaseURL = cluster.databaseURL, store = self.store
        let results = ConcurrentResults()
        concurrently(6) { index in
            let hera = HeraCommand(databaseURL: databaseURL)
            let arguments = index < 3 ? ["template", "import", busybox, "--name", "same", "--public", "--template-dir", store]
                                      : ["template", "prune", "--template-dir", store]
            let outcome = try? hera.run(arguments)
            if index < 3 { results.add(outcome?.status == 0 ? 200 : 400, outcome?.stderr) }
        }
        XCTAssertEqual(results.count(200), 1, "\(results.ids)")
        let rootfs = try XCTUnwrap(cluster.connection.query("SELECT rootfs FROM templates WHERE name = 'same'").first?["rootfs"])
        XCTAssertTrue(FileManager.default.fileExists(atPath: rootfs + "/bin/busybox"), "a prune never takes an import's directory")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: store).filter { $0.hasPrefix("same-") },
                       [URL(fileURLWithPath: rootfs).lastPathComponent], "no copy of a refused import is left")
    }

    func testATemplateInUseKeepsItsDirectory() throws {
        // Found by an attacker: moving a template in use to another directory, then a prune,
        // deleted the files under a running sandbox.
        let first = store + "/first", second = store + "/second"
        XCTAssertEqual(mkdir(first, 0o755), 0)
        XCTAssertEqual(mkdir(second, 0o755), 0)
        _ = try cluster.addTemplate(name: "moving", rootfs: first)
        try cluster.connection.query("""
            INSERT INTO sandboxes (owner_id, creator_id, template_id, state, memory_mb, timeout_s)
            SELECT 1, 1, id, 'queued', 64, 60 FROM templates WHERE name = 'moving'
            """)
        let hera = HeraCommand(databaseURL: cluster.databaseURL)
        let refused = try hera.run(["template", "add", "moving", "--rootfs", second, "--public"])
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.stderr.contains("has 1 live sandboxes on its current directory"), refused.stderr)
        XCTAssertEqual(try hera.run(["template", "add", "moving", "--rootfs", first, "--public"]).status, 0, "the same directory is fine")
    }

    func testAHostileTarballWritesNothingOutsideTheStore() throws {
        let mark = "hera-escape-\(UUID().uuidString)"
        let outside = ["/tmp/" + mark, TestCluster.testDirectory + "/" + mark, "/" + mark, store + "/" + mark]
        let archives: [(String, String)] = [
            ("dot-dot", "t = tar(); entry(t, '../../\(mark)', data=b'x'); t.close()"),
            ("absolute", "t = tar(); entry(t, '/tmp/\(mark)', data=b'x'); t.close()"),
            ("through a symlink", "t = tar(); entry(t, 'link', tarfile.SYMTYPE, link='/tmp'); entry(t, 'link/\(mark)', data=b'x'); t.close()"),
            ("through a relative symlink", "t = tar(); entry(t, 'up', tarfile.SYMTYPE, link='../../../..'); entry(t, 'up/tmp/\(mark)', data=b'x'); t.close()"),
            ("hardlink out", "t = tar(); entry(t, 'h', tarfile.LNKTYPE, link='/etc/passwd'); t.close()"),
            ("devices and set-user-ID", """
                t = tar(); entry(t, 'dev', tarfile.DIRTYPE)
                d = tarfile.TarInfo('dev/mem'); d.type = tarfile.CHRTYPE; d.devmajor, d.devminor = 1, 1; t.addfile(d)
                s = tarfile.TarInfo('suid'); s.mode = 0o4755; s.size = 1; t.addfile(s, io.BytesIO(b'x')); t.close()
                """),
        ]
        let passwd = try String(contentsOfFile: "/etc/passwd", encoding: .utf8)
        for (index, (name, script)) in archives.enumerated() {
            let path = TestCluster.testDirectory + "/hostile-\(index).tar"
            FileManager.default.createFile(atPath: path, contents: Data(try ArchiveMaker.make(script)))
            let outcome = try importTemplate(path, "--name", "hostile-\(index)")
            for file in outside {
                XCTAssertFalse(FileManager.default.fileExists(atPath: file), "\(name): wrote \(file)")
            }
            guard outcome.status == 0 else { continue }   // refused outright is fine too
            let rootfs = try XCTUnwrap(cluster.connection.query("SELECT rootfs FROM templates WHERE name = $1",
                                                                ["hostile-\(index)"]).first?["rootfs"])
            let found = try FileManager.default.subpathsOfDirectory(atPath: rootfs)
            for file in found {
                var info = stat()
                XCTAssertEqual(lstat(rootfs + "/" + file, &info), 0)
                XCTAssertNotEqual(info.st_mode & S_IFMT, S_IFCHR, "\(name): device \(file) kept")
                XCTAssertEqual(info.st_mode & (S_ISUID | S_ISGID), 0, "\(name): set-ID bit kept on \(file)")
                XCTAssertEqual(info.st_uid, 65534, "\(name): \(file)")
            }
        }
        XCTAssertEqual(try String(contentsOfFile: "/etc/passwd", encoding: .utf8), passwd)
        var info = stat()
        XCTAssertEqual(stat("/etc/passwd", &info), 0)
        XCTAssertEqual(info.st_uid, 0, "a hard link out never changes the host file's owner")
    }
}

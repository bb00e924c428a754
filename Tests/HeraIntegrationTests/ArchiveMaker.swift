import Foundation

/// Builds test archives with Python's tarfile and zipfile (they write exactly the hostile
/// headers the tests need): `python3 - <output> <script>`.
enum ArchiveMaker {
    static func make(_ script: String) throws -> [UInt8] {
        let output = TestCluster.testDirectory + "/archive-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: output) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", prelude + script, output]
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0, let data = FileManager.default.contents(atPath: output) else {
            throw TestClientError("python3 could not build the archive: \(script)")
        }
        return Array(data)
    }

    /// `out` is the output path; `tar(mode)` opens it as a tar; `entry(...)` adds one entry.
    private static let prelude = """
        import io, sys, tarfile, zipfile
        out = sys.argv[1]
        def tar(mode='w', fmt=tarfile.GNU_FORMAT):
            return tarfile.open(out, mode, format=fmt)
        def entry(t, name, kind=tarfile.REGTYPE, data=b'', link='', pax=None):
            info = tarfile.TarInfo(name)
            info.type, info.size, info.linkname = kind, len(data), link
            info.mode = 0o755 if kind == tarfile.DIRTYPE else 0o644
            if pax: info.pax_headers = pax
            t.addfile(info, io.BytesIO(data) if kind == tarfile.REGTYPE else None)

        """
}

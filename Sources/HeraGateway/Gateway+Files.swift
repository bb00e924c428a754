import Foundation
import HeraDB
import HeraHTTP

/// Files in and out of a sandbox. Both run as commands inside the sandbox (its unprivileged
/// user, its namespaces and root): the host's filesystem is never written or followed.
extension Gateway {
    /// Largest download, and largest archive once decompressed.
    static let maxFileTransferBytes = 8 << 20
    /// Seconds a download, decompression or unpacking may take inside the sandbox.
    static let fileTransferTimeout = 60.0

    /// A file's bytes (application/octet-stream), or a directory as a tar archive (application/x-tar).
    func sandboxDownload(_ caller: Caller, _ id: String, _ parameters: Parameters) throws -> HTTPResponse {
        let path = try Gateway.sandboxPath(parameters, "path")
        // The first byte says what follows: d (a directory as tar) or f (a file). `head` bounds the
        // reading itself, so an endless file (/dev/zero) ends the command at once past the limit.
        let script = #"""
            if [ -d "$1" ]; then printf d && cd -- "$1" && tar -c -f - . | head -c "$2"
            elif [ -e "$1" ]; then printf f && head -c "$2" -- "$1"
            else echo "$1: no such file or directory" >&2; exit 44; fi
            """#
        let row = try execRun(caller, id, ExecOrder(args: ["/bin/sh", "-c", script, "download", path,
                                                           String(Gateway.maxFileTransferBytes + 1)],
                                                    timeout: Gateway.fileTransferTimeout,
                                                    outputLimit: Gateway.maxFileTransferBytes + 1))
        let stderr = String(decoding: row.bytes("stderr") ?? [], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        if row.int("exit_code") == 44 { throw APIError("FileDoesNotExist", 404, stderr) }
        guard row.bool("stdout_truncated") != true else {
            throw APIError("FileTooLarge", 413, "\(path) is larger than \(Gateway.maxFileTransferBytes >> 20) MiB")
        }
        let output = row.bytes("stdout") ?? []
        guard row.int("exit_code") == 0, let kind = output.first else { throw APIError.malformed("could not read \(path): \(stderr)") }
        let contentType = kind == UInt8(ascii: "d") ? "application/x-tar" : "application/octet-stream"
        return HTTPResponse(status: 200, headers: HTTPHeaders([("Content-Type", contentType)]), body: Array(output.dropFirst()))
    }

    /// Unpacks the body, a tar (none, gz, xz or bz2) or zip archive, into `target` once every
    /// entry has passed `ArchivePolicy`. Compressed tars are decompressed inside the sandbox first.
    func sandboxUnpack(_ caller: Caller, _ id: String, _ parameters: Parameters) throws -> HTTPResponse {
        let target = try Gateway.sandboxPath(parameters, "target")
        guard let archive = parameters.rawBody, !archive.isEmpty else {
            throw APIError.malformed("send the archive as an application/octet-stream body (parameters in the query string)")
        }
        let isZip: Bool
        switch parameters["archive_type"] ?? "tar" {
        case "tar": isZip = false
        case "zip": isZip = true
        default: throw APIError.malformed("archive_type must be tar or zip")
        }
        let decompressor: String?
        switch parameters["compress_type"] ?? "none" {
        case "none": decompressor = nil
        case "gz" where !isZip: decompressor = "gunzip"
        case "xz" where !isZip: decompressor = "unxz"
        case "bz2" where !isZip: decompressor = "bunzip2"
        default: throw APIError.malformed("compress_type must be none, gz, xz or bz2 (for tar; none for zip)")
        }
        let plain = try decompressor.map { try decompress(caller, id, archive, with: $0) } ?? archive
        do {
            try ArchivePolicy.check(isZip ? try ZipListing.entries(plain) : try TarListing.entries(plain))
        } catch let error as ArchiveError {
            throw error.tooLarge ? APIError("RequestTooLarge", 413, error.message) : APIError.malformed(error.message)
        }
        // A zip's declared sizes were checked (ZipListing); ulimit -f holds any file to the limit
        // even when its header lies.
        let unpack = isZip
            ? #"mkdir -p -- "$1" && f=$(mktemp) && cat > "$f" && (ulimit -f 16384; unzip -o -q "$f" -d "$1"); s=$?; rm -f "$f"; exit $s"#
            : #"mkdir -p -- "$1" && exec tar -x -o -f - -C "$1""#
        let row = try execRun(caller, id, ExecOrder(args: ["/bin/sh", "-c", unpack, "unpack", target], stdin: plain,
                                                    timeout: Gateway.fileTransferTimeout))
        guard row.int("exit_code") == 0 else {
            throw APIError.malformed("could not unpack into \(target): \(String(decoding: row.bytes("stderr") ?? [], as: UTF8.self))")
        }
        return Response.ok()
    }

    private func decompress(_ caller: Caller, _ id: String, _ archive: [UInt8], with program: String) throws -> [UInt8] {
        let row = try execRun(caller, id, ExecOrder(args: [program, "-c"], stdin: archive, timeout: Gateway.fileTransferTimeout,
                                                    outputLimit: Gateway.maxFileTransferBytes))
        guard row.bool("stdout_truncated") != true else {
            throw APIError("RequestTooLarge", 413, "the archive unpacks to more than \(Gateway.maxFileTransferBytes >> 20) MiB")
        }
        guard row.int("exit_code") == 0 else {
            throw APIError.malformed("the archive is not valid (\(program)): \(String(decoding: row.bytes("stderr") ?? [], as: UTF8.self))")
        }
        return row.bytes("stdout") ?? []
    }

    /// An absolute path inside the sandbox.
    private static func sandboxPath(_ parameters: Parameters, _ key: String) throws -> String {
        let path = try parameters.required(key)
        guard path.hasPrefix("/"), path.utf8.count <= ExecOrder.maxCwdBytes else {
            throw APIError.malformed("\(key) must be an absolute path of at most \(ExecOrder.maxCwdBytes) bytes")
        }
        return path
    }
}

import Glibc

/// Runs a system call, retrying while it fails with EINTR.
/// Throws `SandboxError.system` naming the call and its errno on any other failure.
@discardableResult
func retryingEINTR<Result: BinaryInteger>(_ call: String, _ body: () -> Result) throws -> Result {
    while true {
        let result = body()
        if result >= 0 { return result }
        let error = errno
        if error != EINTR { throw SandboxError.system(call: call, errno: error) }
    }
}

/// glibc functions Swift's Glibc module hides (declared only under _GNU_SOURCE), found at run time.
enum GNULibc {
    typealias Pipe2 = @convention(c) (UnsafeMutablePointer<Int32>?, Int32) -> Int32
    typealias SpawnAddCloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>?, Int32) -> Int32

    static func function<Function>(_ name: String) throws -> Function {
        // RTLD_DEFAULT (a null handle): search the global scope, which includes libc.
        guard let symbol = dlsym(nil, name) else { throw SandboxError.system(call: "dlsym(\(name))", errno: ENOSYS) }
        return unsafeBitCast(symbol, to: Function.self)
    }
}

/// An owned file descriptor, closed exactly once (explicitly or when released).
final class FileDescriptor {
    private(set) var raw: Int32

    init(_ raw: Int32) { self.raw = raw }

    func close() {
        if raw >= 0 { _ = Glibc.close(raw) }
        raw = -1
    }

    var isOpen: Bool { raw >= 0 }

    func setNonBlocking() throws {
        let flags = try retryingEINTR("fcntl(F_GETFL)") { fcntl(raw, F_GETFL) }
        try retryingEINTR("fcntl(F_SETFL)") { fcntl(raw, F_SETFL, flags | O_NONBLOCK) }
    }

    /// Writes all of `bytes`, blocking as needed.
    func writeAll(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            offset += try retryingEINTR("write") { bytes.withUnsafeBytes { Glibc.write(raw, $0.baseAddress! + offset, $0.count - offset) } }
        }
    }

    deinit { close() }
}

/// A close-on-exec pipe: `read` and `write` ends.
struct PipePair {
    let read: FileDescriptor
    let write: FileDescriptor

    init() throws {
        var fds: [Int32] = [-1, -1]
        let pipe2: GNULibc.Pipe2 = try GNULibc.function("pipe2")
        try retryingEINTR("pipe2") { pipe2(&fds, O_CLOEXEC) }
        read = FileDescriptor(fds[0])
        write = FileDescriptor(fds[1])
    }
}

enum SystemFile {
    /// The whole content of a (small) file such as a cgroup or /proc file.
    static func read(_ path: String) throws -> String {
        let fd = FileDescriptor(try retryingEINTR("open(\(path))") { open(path, O_RDONLY | O_CLOEXEC) })
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = try retryingEINTR("read(\(path))") { chunk.withUnsafeMutableBytes { Glibc.read(fd.raw, $0.baseAddress, $0.count) } }
            if count == 0 { break }
            bytes.append(contentsOf: chunk[0..<count])
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Writes `text` in a single write(2), as cgroup files require.
    /// O_CREAT is harmless on cgroupfs (existing files open normally, new names are refused)
    /// and lets drivers run against a fake cgroup tree in tests.
    static func write(_ text: String, to path: String) throws {
        let fd = FileDescriptor(try retryingEINTR("open(\(path))") { open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644) })
        let bytes = Array(text.utf8)
        let written = try retryingEINTR("write(\(path))") { bytes.withUnsafeBytes { Glibc.write(fd.raw, $0.baseAddress, $0.count) } }
        if written != bytes.count { throw SandboxError.system(call: "write(\(path)) short", errno: EIO) }
    }

    static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    /// Creates `path` and its missing parents with `mode`.
    static func makeDirectories(_ path: String, mode: mode_t) throws {
        var current = ""
        for component in path.split(separator: "/") {
            current += "/" + component
            if mkdir(current, mode) != 0 && errno != EEXIST {
                throw SandboxError.system(call: "mkdir(\(current))", errno: errno)
            }
        }
    }

    /// Names of the sub-directories of `path` ([] if `path` does not exist).
    static func subdirectories(_ path: String) throws -> [String] {
        guard let directory = opendir(path) else {
            if errno == ENOENT { return [] }
            throw SandboxError.system(call: "opendir(\(path))", errno: errno)
        }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name != "." && name != ".." && isDirectory(path + "/" + name) { names.append(name) }
        }
        return names
    }
}

enum Clock {
    /// Seconds on the monotonic clock.
    static func now() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }

    static func sleep(milliseconds: Int) {
        var remaining = timespec(tv_sec: milliseconds / 1000, tv_nsec: (milliseconds % 1000) * 1_000_000)
        while true {
            let request = remaining
            if withUnsafePointer(to: request, { nanosleep($0, &remaining) }) == 0 || errno != EINTR { return }
        }
    }
}

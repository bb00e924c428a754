import Glibc

/// Bytes read from a stream, of which at most `limit` are kept.
struct CappedBuffer {
    let limit: Int
    private(set) var bytes: [UInt8] = []
    private(set) var truncated = false

    init(limit: Int) { self.limit = limit }

    /// Returns the part of `chunk` that was kept.
    @discardableResult
    mutating func append(_ chunk: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        let room = limit - bytes.count
        if chunk.count > room { truncated = true }
        let kept = chunk.prefix(max(room, 0))
        bytes += kept
        return kept
    }
}

/// Feeds stdin and reads stdout, stderr and the launcher's status pipe with one poll loop,
/// so no pipe can fill up and deadlock the command. All fds are made non-blocking.
///
/// The loop ends when the status pipe reaches EOF (the launcher exited after the command).
/// By then everything the command wrote is in the pipes; what is readable is drained, and
/// output of background processes that still hold the pipes open is not waited for.
///
/// From `deadline` on, `overtime` is called every `overtimeInterval` seconds until the
/// launcher exits (it kills the command, and anything it forks meanwhile).
///
/// `observer`, when set, sees every kept chunk of stdout and stderr as it is read (live output).
struct OutputCollector {
    static let overtimeInterval = 0.01

    struct Collected {
        var stdout: CappedBuffer
        var stderr: CappedBuffer
        var status: [UInt8] = []
        var deadlinePassed = false
    }

    let limit: Int
    var observer: ExecOutputObserver? = nil

    func collect(stdin input: [UInt8], stdinFd: FileDescriptor, stdoutFd: FileDescriptor,
                 stderrFd: FileDescriptor, statusFd: FileDescriptor,
                 deadline: Double? = nil, overtime: () throws -> Void = {}) throws -> Collected {
        for fd in [stdinFd, stdoutFd, stderrFd, statusFd] { try fd.setNonBlocking() }
        var collected = Collected(stdout: CappedBuffer(limit: limit), stderr: CappedBuffer(limit: limit))
        var written = 0
        if input.isEmpty { stdinFd.close() }
        var chunk = [UInt8](repeating: 0, count: 65536)

        /// Reads what is available; closes `fd` at EOF. Returns false when nothing was read.
        func readAvailable(_ fd: FileDescriptor, into sink: (ArraySlice<UInt8>) -> Void) throws -> Bool {
            let count = chunk.withUnsafeMutableBytes { read(fd.raw, $0.baseAddress, $0.count) }
            if count > 0 { sink(chunk[0..<count]); return true }
            if count == 0 { fd.close(); return false }
            if errno == EAGAIN || errno == EINTR { return false }
            throw SandboxError.system(call: "read", errno: errno)
        }

        while statusFd.isOpen {
            var pollFds: [pollfd] = []
            if stdinFd.isOpen { pollFds.append(pollfd(fd: stdinFd.raw, events: Int16(POLLOUT), revents: 0)) }
            for fd in [stdoutFd, stderrFd, statusFd] where fd.isOpen {
                pollFds.append(pollfd(fd: fd.raw, events: Int16(POLLIN), revents: 0))
            }
            if let deadline, Clock.now() >= deadline {
                collected.deadlinePassed = true
                try overtime()
            }
            try retryingEINTR("poll") { poll(&pollFds, nfds_t(pollFds.count), pollTimeout(until: deadline)) }
            for entry in pollFds where entry.revents != 0 {
                if entry.fd == stdinFd.raw {
                    written += try writeAvailable(input, from: written, to: stdinFd)
                    if written == input.count { stdinFd.close() }
                } else if entry.fd == stdoutFd.raw {
                    _ = try readAvailable(stdoutFd) { observe(.stdout, collected.stdout.append($0)) }
                } else if entry.fd == stderrFd.raw {
                    _ = try readAvailable(stderrFd) { observe(.stderr, collected.stderr.append($0)) }
                } else {
                    _ = try readAvailable(statusFd) { collected.status += $0 }
                }
            }
        }
        stdinFd.close()
        // Bounded: a background process could keep writing forever.
        let drainDeadline = Clock.now() + 0.1
        while stdoutFd.isOpen, Clock.now() < drainDeadline,
              try readAvailable(stdoutFd, into: { observe(.stdout, collected.stdout.append($0)) }) {}
        while stderrFd.isOpen, Clock.now() < drainDeadline,
              try readAvailable(stderrFd, into: { observe(.stderr, collected.stderr.append($0)) }) {}
        return collected
    }

    private func observe(_ stream: ExecStream, _ kept: ArraySlice<UInt8>) {
        if !kept.isEmpty { observer?(stream, kept) }
    }

    /// Milliseconds poll may block: forever without a deadline, the overtime interval after it.
    private func pollTimeout(until deadline: Double?) -> Int32 {
        guard let deadline else { return -1 }
        let remaining = max(deadline - Clock.now(), 0)
        return Int32((remaining > 0 ? min(remaining, 3600) : Self.overtimeInterval) * 1000) + 1
    }

    /// Writes as much of `input[offset...]` as the pipe takes; a reader that went away ends stdin.
    private func writeAvailable(_ input: [UInt8], from offset: Int, to fd: FileDescriptor) throws -> Int {
        let count = input.withUnsafeBytes { write(fd.raw, $0.baseAddress! + offset, $0.count - offset) }
        if count >= 0 { return count }
        if errno == EAGAIN || errno == EINTR { return 0 }
        if errno == EPIPE { fd.close(); return input.count - offset }
        throw SandboxError.system(call: "write(stdin)", errno: errno)
    }
}

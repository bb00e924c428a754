import Glibc

/// errno of a failed system call, with the call's name for messages.
struct SystemCallError: Error {
    let call: String
    let code: Int32

    var isWouldBlock: Bool { code == EAGAIN || code == EWOULDBLOCK }
    var description: String { "\(call): \(String(cString: strerror(code)))" }
}

/// Runs a system call, retrying while it fails with EINTR; other failures throw with errno.
@discardableResult
func systemCall<Result: BinaryInteger>(_ call: String, _ body: () -> Result) throws(SystemCallError) -> Result {
    while true {
        let result = body()
        if result >= 0 { return result }
        let code = errno
        if code != EINTR { throw SystemCallError(call: call, code: code) }
    }
}

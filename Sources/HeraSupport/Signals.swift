import Glibc

/// Graceful stop: block SIGTERM and SIGINT in the calling thread before any other thread starts
/// (threads inherit the mask), then `waitForTermination()` returns when one of them arrives.
public enum Signals {
    public static func blockTermination() {
        var set = terminationSet()
        pthread_sigmask(SIG_BLOCK, &set, nil)
    }

    /// Returns the signal number that arrived.
    @discardableResult
    public static func waitForTermination() -> Int32 {
        var set = terminationSet()
        var signal: Int32 = 0
        while sigwait(&set, &signal) != 0 {}
        return signal
    }

    private static func terminationSet() -> sigset_t {
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGTERM)
        sigaddset(&set, SIGINT)
        return set
    }
}

import CZeroMQ

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A libzmq context: the I/O thread and the registry that every socket belongs to.
///
/// Create one per process and share it; contexts are thread-safe. The context is terminated
/// when the last reference goes away. Every ``ZMQSocket`` holds a strong reference to its
/// context, so that moment always comes after the sockets are closed (terminating first
/// would wait forever for them; optimized builds are known to reorder the releases).
///
/// Termination waits for each closed socket's linger period to flush what it still queues.
/// With the default linger (-1, forever) and a peer that is gone, it never returns: give
/// every sending socket a bounded ``ZMQSocket/setLinger(milliseconds:)``.
public final class ZMQContext: @unchecked Sendable {
    // @unchecked Sendable: `handle` is set once in `init` and never changes, and libzmq
    // documents contexts as thread-safe; every C call on it may come from any thread.

    /// The `void *` context handle from `zmq_ctx_new`.
    let handle: UnsafeMutableRawPointer

    /// The version of the libzmq this process runs with, as `(major, minor, patch)`.
    public static let version: (major: Int, minor: Int, patch: Int) = {
        var major: Int32 = 0
        var minor: Int32 = 0
        var patch: Int32 = 0
        zmq_version(&major, &minor, &patch)
        return (Int(major), Int(minor), Int(patch))
    }()

    /// The version of the libzmq this process runs with, such as `4.3.4`.
    public static var versionString: String {
        let (major, minor, patch) = version
        return "\(major).\(minor).\(patch)"
    }

    /// Creates a context with libzmq's defaults (one I/O thread).
    ///
    /// - Throws: ``ZMQError`` from `zmq_ctx_new`, which fails only when out of resources.
    public init() throws(ZMQError) {
        guard let handle = zmq_ctx_new() else {
            throw ZMQError(call: "zmq_ctx_new")
        }
        self.handle = handle
    }

    /// Makes every blocking call on this context's sockets fail with `ETERM`, now and later.
    ///
    /// Use it from any thread to stop threads that are blocked in a receive, send or poll:
    /// their calls throw a ``ZMQError`` whose ``ZMQError/isContextTerminated`` is true, and
    /// they should then drop their sockets. The context itself is still terminated only
    /// when the last reference to it goes away. Calling it again does nothing.
    public func shutdown() {
        // Fails only with EFAULT for an invalid handle, which `init` rules out.
        _ = zmq_ctx_shutdown(handle)
    }

    deinit {
        // Sockets hold strong references to the context, so all of them are closed by now;
        // termination only waits for their linger periods. It can be interrupted by a signal.
        while zmq_ctx_term(handle) == -1 && zmq_errno() == EINTR {}
    }
}

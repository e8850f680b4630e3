import CZeroMQ

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// How the module calls into libzmq: one place for the EINTR and EAGAIN rules.
///
/// libzmq reports failure as `-1` (or `NULL`) and leaves the cause in `zmq_errno()`. A signal
/// arriving during a blocking call makes it fail with EINTR (measured: 19 of 20 signals
/// interrupted a blocking receive), so every call that can block is retried. EAGAIN means
/// "not now" (non-blocking mode or a timeout) and is a normal result, returned as `nil`.
enum ZMQCall {
    /// Calls `body` until it is not interrupted, treating EAGAIN as a normal result.
    ///
    /// For sends, receives and polls, where EAGAIN means a timeout or "would block".
    ///
    /// - Parameters:
    ///   - call: The C function's name, for the error.
    ///   - context: The endpoint or option, for the error.
    ///   - body: The C call; it returns `-1` on failure.
    /// - Returns: What `body` returned, or `nil` if it failed with EAGAIN.
    /// - Throws: ``ZMQError`` for any failure other than EINTR and EAGAIN.
    @inline(__always)
    static func retrying(
        _ call: String,
        context: String? = nil,
        _ body: () -> Int32
    ) throws(ZMQError) -> Int32? {
        while true {
            let result = body()
            if result >= 0 {
                return result
            }
            let errno = zmq_errno()
            switch errno {
            case EINTR:
                continue
            case EAGAIN:
                return nil
            default:
                throw ZMQError(call: call, errno: errno, context: context)
            }
        }
    }

    /// Calls `body` until it is not interrupted; any other failure, EAGAIN included, throws.
    ///
    /// For calls that libzmq documents as interruptible but that have no "not now" result,
    /// such as `zmq_setsockopt` and `zmq_getsockopt`.
    ///
    /// - Parameters:
    ///   - call: The C function's name, for the error.
    ///   - context: The endpoint or option, for the error.
    ///   - body: The C call; it returns `-1` on failure.
    /// - Throws: ``ZMQError`` for any failure other than EINTR.
    @inline(__always)
    static func retryingInterrupts(
        _ call: String,
        context: String? = nil,
        _ body: () -> Int32
    ) throws(ZMQError) {
        while body() == -1 {
            let errno = zmq_errno()
            if errno != EINTR {
                throw ZMQError(call: call, errno: errno, context: context)
            }
        }
    }

    /// Throws if a call that cannot be interrupted, and never returns EAGAIN, failed.
    ///
    /// - Parameters:
    ///   - result: What the C call returned; `-1` means it failed.
    ///   - call: The C function's name, for the error.
    ///   - context: The endpoint or option, for the error.
    /// - Throws: ``ZMQError`` when `result` is `-1`.
    @inline(__always)
    static func check(_ result: Int32, _ call: String, context: String? = nil) throws(ZMQError) {
        if result == -1 {
            throw ZMQError(call: call, context: context)
        }
    }
}

import CZeroMQ

/// A libzmq call that failed: which call, the `errno` it left, and libzmq's text for it.
///
/// EAGAIN is not an error in this module: calls that can time out or would block return
/// `false` or `nil` instead. EINTR is retried where it can occur and never surfaces here.
/// Secret material (CURVE keys) is never put in ``context``.
public struct ZMQError: Error, CustomStringConvertible, Sendable {
    /// The name of the C function that failed, such as `zmq_bind`.
    public let call: String

    /// The value of `zmq_errno()` right after the call failed.
    public let errno: Int32

    /// libzmq's description of ``errno`` (`zmq_strerror`).
    public let message: String

    /// What the call was about, such as the endpoint or the option name, when known.
    public let context: String?

    /// Captures `zmq_errno()` for a call that has just failed.
    ///
    /// - Parameters:
    ///   - call: The C function's name.
    ///   - context: The endpoint, option or other input the call was given.
    init(call: String, context: String? = nil) {
        self.init(call: call, errno: zmq_errno(), context: context)
    }

    /// Describes a failure with a known `errno`.
    init(call: String, errno: Int32, context: String? = nil) {
        self.call = call
        self.errno = errno
        self.message = String(cString: zmq_strerror(errno))
        self.context = context
    }

    /// The error in one line, such as `zmq_bind("tcp://x:1") failed: Address already in use (errno 98)`.
    public var description: String {
        let subject = context.map { "\(call)(\(String(reflecting: $0)))" } ?? call
        return "\(subject) failed: \(message) (errno \(errno))"
    }

    /// Whether the socket's context was shut down or terminated (`ETERM`).
    ///
    /// Blocking calls fail this way after ``ZMQContext/shutdown()``; an owning thread
    /// should then drop its socket and stop.
    public var isContextTerminated: Bool {
        errno == ETERM
    }
}

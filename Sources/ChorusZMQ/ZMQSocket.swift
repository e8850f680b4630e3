import CZeroMQ

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The kinds of libzmq socket this module creates.
public enum ZMQSocketType: Sendable {
    /// Sends to connected `pull` peers in turn (`ZMQ_PUSH`).
    case push
    /// Receives fairly from connected `push` peers (`ZMQ_PULL`).
    case pull
    /// Sends to every matching `sub` subscriber (`ZMQ_PUB`).
    case pub
    /// Receives what `pub` peers publish under its subscriptions (`ZMQ_SUB`).
    case sub
    /// Asynchronous request side, load-balancing over its peers (`ZMQ_DEALER`).
    case dealer
    /// Asynchronous reply side, addressing peers by routing id (`ZMQ_ROUTER`).
    case router
    /// One exclusive peer (`ZMQ_PAIR`).
    case pair
    /// Answers each request in turn (`ZMQ_REP`), as a ZAP handler does.
    case rep

    /// The `ZMQ_*` constant for `zmq_socket`.
    var cValue: Int32 {
        switch self {
        case .push: ZMQ_PUSH
        case .pull: ZMQ_PULL
        case .pub: ZMQ_PUB
        case .sub: ZMQ_SUB
        case .dealer: ZMQ_DEALER
        case .router: ZMQ_ROUTER
        case .pair: ZMQ_PAIR
        case .rep: ZMQ_REP
        }
    }
}

/// A libzmq socket, owned by one thread at a time and closed when it goes away.
///
/// libzmq sockets are not thread-safe, so this type is noncopyable and not `Sendable`: it has
/// one owner, which may move it but not share it. Create it on the thread that uses it.
/// Blocking calls belong on a dedicated thread, or use timeouts and ``poll(timeoutMilliseconds:)``.
///
/// The socket keeps its ``ZMQContext`` alive, so the context is terminated only after every
/// socket is closed. Closing does not drop queued outgoing messages: the context's
/// termination waits up to the linger period for them (see ``setLinger(milliseconds:)``).
///
/// Options are in `ZMQSocket+Options.swift`; the CURVE options are in `ZMQCurve.swift`.
public struct ZMQSocket: ~Copyable {
    /// The `void *` socket handle from `zmq_socket`.
    let handle: UnsafeMutableRawPointer

    /// The context, kept alive until this socket is closed.
    let context: ZMQContext

    /// The socket's type.
    public let type: ZMQSocketType

    /// Creates a socket of `type` in `context`.
    ///
    /// - Parameters:
    ///   - context: The context the socket belongs to; the socket keeps it alive.
    ///   - type: The socket's type.
    /// - Throws: ``ZMQError`` from `zmq_socket`, for example `EMFILE` when out of sockets or
    ///   `ETERM` after ``ZMQContext/shutdown()``.
    public init(_ context: ZMQContext, type: ZMQSocketType) throws(ZMQError) {
        guard let handle = zmq_socket(context.handle, type.cValue) else {
            throw ZMQError(call: "zmq_socket", context: "\(type)")
        }
        self.handle = handle
        self.context = context
        self.type = type
    }

    deinit {
        // The context must outlive the close, or its termination would wait for this socket
        // forever; say so explicitly rather than rely on the order of stored-property release.
        withExtendedLifetime(context) {
            // Fails only with ENOTSOCK, which a live handle rules out.
            _ = zmq_close(handle)
        }
    }

    /// Closes the socket now, rather than when its owner goes away.
    public consuming func close() {}

    // MARK: Endpoints

    /// Accepts connections on `endpoint`, such as `tcp://127.0.0.1:7700`, `tcp://127.0.0.1:*`
    /// (any free port; read ``lastEndpoint``) or `ipc:///run/chorus/collector.sock`.
    ///
    /// A second bind to an `ipc://` path silently takes the path over, and the socket file
    /// stays after the socket closes: use a path unique to the instance and remove it after.
    ///
    /// - Throws: ``ZMQError`` from `zmq_bind`, naming the endpoint; `EADDRINUSE` when taken.
    public func bind(_ endpoint: String) throws(ZMQError) {
        let handle = self.handle
        try ZMQCall.check(zmq_bind(handle, endpoint), "zmq_bind", context: endpoint)
    }

    /// Connects to `endpoint`; libzmq connects in the background and reconnects by itself.
    ///
    /// - Throws: ``ZMQError`` from `zmq_connect`, naming the endpoint, when it is malformed
    ///   or its transport is unsupported. An unreachable peer is not an error.
    public func connect(_ endpoint: String) throws(ZMQError) {
        let handle = self.handle
        try ZMQCall.check(zmq_connect(handle, endpoint), "zmq_connect", context: endpoint)
    }

    /// Stops accepting connections on an endpoint given to ``bind(_:)``.
    ///
    /// For a wildcard bind, pass the resolved ``lastEndpoint``, not the wildcard.
    ///
    /// - Throws: ``ZMQError`` from `zmq_unbind`; `ENOENT` when the endpoint is not bound.
    public func unbind(_ endpoint: String) throws(ZMQError) {
        let handle = self.handle
        try ZMQCall.check(zmq_unbind(handle, endpoint), "zmq_unbind", context: endpoint)
    }

    /// Disconnects from an endpoint given to ``connect(_:)``.
    ///
    /// - Throws: ``ZMQError`` from `zmq_disconnect`; `ENOENT` when not connected to it.
    public func disconnect(_ endpoint: String) throws(ZMQError) {
        let handle = self.handle
        try ZMQCall.check(zmq_disconnect(handle, endpoint), "zmq_disconnect", context: endpoint)
    }

    /// The endpoint of the last bind or connect, with wildcards resolved (`ZMQ_LAST_ENDPOINT`).
    ///
    /// After binding `tcp://127.0.0.1:*` this is `tcp://127.0.0.1:` and the port chosen.
    /// It is empty before the first bind or connect.
    ///
    /// - Throws: ``ZMQError`` from `zmq_getsockopt`.
    public var lastEndpoint: String {
        get throws(ZMQError) {
            let handle = self.handle
            // An ipc path is at most 107 bytes and a tcp endpoint is shorter than that.
            var buffer = [UInt8](repeating: 0, count: 512)
            var size = buffer.count
            try ZMQCall.retryingInterrupts("zmq_getsockopt", context: "ZMQ_LAST_ENDPOINT") {
                zmq_getsockopt(handle, ZMQ_LAST_ENDPOINT, &buffer, &size)
            }
            return String(decoding: buffer.prefix(while: { $0 != 0 }), as: UTF8.self)
        }
    }

    // MARK: Sending

    /// Sends `bytes` as one message part (libzmq copies them).
    ///
    /// - Parameters:
    ///   - bytes: The part's contents; they may be empty and may hold any bytes.
    ///   - more: Whether more parts of the same message follow (`ZMQ_SNDMORE`).
    ///   - wait: Whether to block until the message can be queued. Even when waiting, a send
    ///     timeout (``setSendTimeout(milliseconds:)``) ends the wait.
    /// - Returns: `true` when queued; `false` when it could not be queued now (EAGAIN: the
    ///   high-water mark is reached or, for `push`, no peer is connected) and `wait` was
    ///   `false` or the send timeout expired. Nothing was sent then.
    /// - Throws: ``ZMQError`` from `zmq_send`, for example `ETERM`.
    public func send(_ bytes: UnsafeRawBufferPointer, more: Bool = false, wait: Bool = true) throws(ZMQError) -> Bool {
        let handle = self.handle
        let flags = (more ? ZMQ_SNDMORE : 0) | (wait ? 0 : ZMQ_DONTWAIT)
        // A NULL buffer with a length of zero is valid for zmq_send.
        let sent = try ZMQCall.retrying("zmq_send") {
            zmq_send(handle, bytes.baseAddress, bytes.count, flags)
        }
        return sent != nil
    }

    /// Sends `bytes` as one message part; see ``send(_:more:wait:)-(UnsafeRawBufferPointer,_,_)``.
    ///
    /// - Returns: `true` when queued; `false` on EAGAIN (would block, or the send timed out).
    /// - Throws: ``ZMQError`` from `zmq_send`.
    public func send(_ bytes: [UInt8], more: Bool = false, wait: Bool = true) throws(ZMQError) -> Bool {
        let sent = bytes.withUnsafeBytes { buffer in
            Result { () throws(ZMQError) in try send(buffer, more: more, wait: wait) }
        }
        return try sent.get()
    }

    /// Sends the UTF-8 bytes of `string`, without a terminating NUL, as one message part.
    ///
    /// - Returns: `true` when queued; `false` on EAGAIN (would block, or the send timed out).
    /// - Throws: ``ZMQError`` from `zmq_send`.
    public func send(_ string: String, more: Bool = false, wait: Bool = true) throws(ZMQError) -> Bool {
        var string = string
        let sent = string.withUTF8 { utf8 in
            Result { () throws(ZMQError) in try send(UnsafeRawBufferPointer(utf8), more: more, wait: wait) }
        }
        return try sent.get()
    }

    // MARK: Receiving

    /// Receives one message part and lends its bytes to `body`, without copying them.
    ///
    /// The bytes are valid only during `body`: copy what must outlive it. When `more` is
    /// true, further parts of the same message follow; receive them, or drop them with
    /// ``discardRemainingParts()``, which `body` itself may call.
    ///
    /// - Parameters:
    ///   - wait: Whether to block until a part arrives. Even when waiting, a receive timeout
    ///     (``setReceiveTimeout(milliseconds:)``) ends the wait.
    ///   - body: Reads the part's bytes; `more` tells whether further parts follow.
    /// - Returns: What `body` returned, or `nil` when nothing arrived (EAGAIN: `wait` was
    ///   `false` and nothing was queued, or the receive timed out). `body` is not called then.
    /// - Throws: ``ZMQError`` from `zmq_msg_recv`, or whatever `body` throws.
    public func receive<R>(wait: Bool = true, _ body: (UnsafeRawBufferPointer, _ more: Bool) throws -> R) throws -> R? {
        let outcome = try receivePart(wait: wait) { bytes, more in
            Result { try body(bytes, more) }
        }
        return try outcome?.get()
    }

    /// Receives one message and returns its first part as an array.
    ///
    /// The protocol's messages have exactly one part. If this message has more, they are
    /// received and dropped here, so the next receive starts at a message boundary; to tell
    /// single-part messages from multi-part ones, use ``receive(wait:_:)`` or
    /// ``receiveParts(wait:)``.
    ///
    /// - Parameter wait: Whether to block until a message arrives (a receive timeout still
    ///   ends the wait).
    /// - Returns: The first part, or `nil` when nothing arrived (EAGAIN).
    /// - Throws: ``ZMQError`` from `zmq_msg_recv`.
    public func receiveBytes(wait: Bool = true) throws(ZMQError) -> [UInt8]? {
        let received = try receivePart(wait: wait) { bytes, more in (Array(bytes), more) }
        guard let (first, more) = received else {
            return nil
        }
        if more {
            try discardRemainingParts()
        }
        return first
    }

    /// Receives one whole message and returns all of its parts.
    ///
    /// - Parameter wait: Whether to block until a message arrives (a receive timeout still
    ///   ends the wait).
    /// - Returns: The parts in order (at least one), or `nil` when nothing arrived (EAGAIN).
    /// - Throws: ``ZMQError`` from `zmq_msg_recv`.
    public func receiveParts(wait: Bool = true) throws(ZMQError) -> [[UInt8]]? {
        guard var (part, more) = try receivePart(wait: wait, { bytes, more in (Array(bytes), more) }) else {
            return nil
        }
        var parts = [part]
        while more {
            (part, more) = try nextPart { bytes, more in (Array(bytes), more) }
            parts.append(part)
        }
        return parts
    }

    /// Whether the part received last has further parts queued (`ZMQ_RCVMORE`).
    ///
    /// - Throws: ``ZMQError`` from `zmq_getsockopt`.
    public var hasMoreParts: Bool {
        get throws(ZMQError) {
            let handle = self.handle
            var value: Int32 = 0
            var size = MemoryLayout<Int32>.size
            try ZMQCall.retryingInterrupts("zmq_getsockopt", context: "ZMQ_RCVMORE") {
                zmq_getsockopt(handle, ZMQ_RCVMORE, &value, &size)
            }
            return value != 0
        }
    }

    /// Receives and drops the remaining parts of the message being received.
    ///
    /// libzmq delivers a message's parts all together, so this never waits for the network.
    /// It does nothing after a message's last part.
    ///
    /// - Returns: How many parts were dropped.
    /// - Throws: ``ZMQError`` from `zmq_getsockopt` or `zmq_msg_recv`.
    @discardableResult
    public func discardRemainingParts() throws(ZMQError) -> Int {
        var count = 0
        var more = try hasMoreParts
        while more {
            more = try nextPart { _, more in more }
            count += 1
        }
        return count
    }

    /// Waits until a message can be received, for at most `timeoutMilliseconds`.
    ///
    /// An interrupted wait resumes with the time that is left.
    ///
    /// - Parameter timeoutMilliseconds: How long to wait: `0` checks without waiting, and a
    ///   negative value waits without a limit.
    /// - Returns: Whether a message is ready to be received.
    /// - Throws: ``ZMQError`` from `zmq_poll`, for example `ETERM`.
    public func poll(timeoutMilliseconds: Int) throws(ZMQError) -> Bool {
        var item = zmq_pollitem_t(socket: handle, fd: 0, events: Int16(ZMQ_POLLIN), revents: 0)
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: .milliseconds(timeoutMilliseconds))
        // zmq_poll documents -1, not any negative value, as "no limit".
        var timeout = max(-1, timeoutMilliseconds)
        while true {
            let ready = zmq_poll(&item, 1, timeout)
            if ready >= 0 {
                return ready > 0 && item.revents & Int16(ZMQ_POLLIN) != 0
            }
            let errno = zmq_errno()
            guard errno == EINTR else {
                throw ZMQError(call: "zmq_poll", errno: errno)
            }
            if timeoutMilliseconds > 0 {
                let left = clock.now.duration(to: deadline).components
                timeout = max(0, Int(left.seconds) * 1000 + Int(left.attoseconds / 1_000_000_000_000_000))
            }
        }
    }

    // MARK: Receiving, the part that touches zmq_msg_t

    /// Receives one part into a `zmq_msg_t` and hands its bytes and `more` flag to `body`.
    ///
    /// The message lives in temporary storage at a fixed address for the whole call: it is
    /// never copied once initialised (libzmq forbids that) and is closed exactly once. A
    /// fresh message per call also lets `body` receive again on this socket.
    private func receivePart<R>(
        wait: Bool,
        _ body: (UnsafeRawBufferPointer, Bool) -> R
    ) throws(ZMQError) -> R? {
        let handle = self.handle
        let flags = wait ? 0 : ZMQ_DONTWAIT
        return try withUnsafeTemporaryAllocation(of: zmq_msg_t.self, capacity: 1) { storage throws(ZMQError) in
            let message = storage.baseAddress!
            // zmq_msg_init cannot fail.
            zmq_msg_init(message)
            defer { zmq_msg_close(message) }
            guard try ZMQCall.retrying("zmq_msg_recv", { zmq_msg_recv(message, handle, flags) }) != nil else {
                return nil
            }
            let bytes = UnsafeRawBufferPointer(start: zmq_msg_data(message), count: zmq_msg_size(message))
            return body(bytes, zmq_msg_more(message) != 0)
        }
    }

    /// Receives a further part of a message whose earlier part said `more`.
    ///
    /// The part is already queued (libzmq delivers parts together), so this blocks for no
    /// time; nil (EAGAIN) cannot happen and would mean libzmq broke that promise.
    private func nextPart<R>(_ body: (UnsafeRawBufferPointer, Bool) -> R) throws(ZMQError) -> R {
        guard let result = try receivePart(wait: true, body) else {
            throw ZMQError(call: "zmq_msg_recv", errno: EAGAIN, context: "a further message part")
        }
        return result
    }
}

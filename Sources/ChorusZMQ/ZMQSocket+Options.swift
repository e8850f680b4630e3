import CZeroMQ

/// A libzmq socket option: its code and, for errors, its name.
struct ZMQOption: Sendable {
    /// The `ZMQ_*` constant.
    let code: Int32
    /// The constant's name, such as `ZMQ_LINGER`.
    let name: String

    init(_ code: Int32, _ name: String) {
        self.code = code
        self.name = name
    }

    static let linger = ZMQOption(ZMQ_LINGER, "ZMQ_LINGER")
    static let sendHighWaterMark = ZMQOption(ZMQ_SNDHWM, "ZMQ_SNDHWM")
    static let receiveHighWaterMark = ZMQOption(ZMQ_RCVHWM, "ZMQ_RCVHWM")
    static let maxMessageSize = ZMQOption(ZMQ_MAXMSGSIZE, "ZMQ_MAXMSGSIZE")
    static let receiveTimeout = ZMQOption(ZMQ_RCVTIMEO, "ZMQ_RCVTIMEO")
    static let sendTimeout = ZMQOption(ZMQ_SNDTIMEO, "ZMQ_SNDTIMEO")
    static let immediate = ZMQOption(ZMQ_IMMEDIATE, "ZMQ_IMMEDIATE")
    static let ipv6 = ZMQOption(ZMQ_IPV6, "ZMQ_IPV6")
    static let subscribe = ZMQOption(ZMQ_SUBSCRIBE, "ZMQ_SUBSCRIBE")
    static let unsubscribe = ZMQOption(ZMQ_UNSUBSCRIBE, "ZMQ_UNSUBSCRIBE")
    static let reconnectInterval = ZMQOption(ZMQ_RECONNECT_IVL, "ZMQ_RECONNECT_IVL")
    static let maxReconnectInterval = ZMQOption(ZMQ_RECONNECT_IVL_MAX, "ZMQ_RECONNECT_IVL_MAX")
    static let heartbeatInterval = ZMQOption(ZMQ_HEARTBEAT_IVL, "ZMQ_HEARTBEAT_IVL")
    static let heartbeatTimeout = ZMQOption(ZMQ_HEARTBEAT_TIMEOUT, "ZMQ_HEARTBEAT_TIMEOUT")
    static let tcpKeepalive = ZMQOption(ZMQ_TCP_KEEPALIVE, "ZMQ_TCP_KEEPALIVE")
    static let tcpKeepaliveIdle = ZMQOption(ZMQ_TCP_KEEPALIVE_IDLE, "ZMQ_TCP_KEEPALIVE_IDLE")
    static let tcpKeepaliveInterval = ZMQOption(ZMQ_TCP_KEEPALIVE_INTVL, "ZMQ_TCP_KEEPALIVE_INTVL")
    static let tcpKeepaliveCount = ZMQOption(ZMQ_TCP_KEEPALIVE_CNT, "ZMQ_TCP_KEEPALIVE_CNT")
    static let curveServer = ZMQOption(ZMQ_CURVE_SERVER, "ZMQ_CURVE_SERVER")
    static let curveServerKey = ZMQOption(ZMQ_CURVE_SERVERKEY, "ZMQ_CURVE_SERVERKEY")
    static let curvePublicKey = ZMQOption(ZMQ_CURVE_PUBLICKEY, "ZMQ_CURVE_PUBLICKEY")
    static let curveSecretKey = ZMQOption(ZMQ_CURVE_SECRETKEY, "ZMQ_CURVE_SECRETKEY")
    static let zapDomain = ZMQOption(ZMQ_ZAP_DOMAIN, "ZMQ_ZAP_DOMAIN")
}

extension ZMQSocket {
    // MARK: Delivery

    /// Sets how long closing may wait to deliver queued outgoing messages (`ZMQ_LINGER`).
    ///
    /// The wait happens when the context is terminated. libzmq's default, -1, waits
    /// forever if the peer is gone; 0 drops whatever is queued, which loses the last
    /// messages of a sender that exits right after sending. Senders want a bounded value.
    ///
    /// - Parameter milliseconds: The limit: -1 for none, 0 to drop queued messages.
    /// - Throws: ``ZMQError`` from `zmq_setsockopt`.
    public func setLinger(milliseconds: Int32) throws(ZMQError) {
        try setOption(.linger, int: milliseconds)
    }

    /// Sets how many outgoing messages may queue per peer before sends block (`ZMQ_SNDHWM`).
    ///
    /// Set it before ``bind(_:)`` or ``connect(_:)``: it applies to connections made later.
    ///
    /// - Parameter messages: The limit; 0 means none. libzmq's default is 1000.
    /// - Throws: ``ZMQError`` from `zmq_setsockopt`.
    public func setSendHighWaterMark(_ messages: Int32) throws(ZMQError) {
        try setOption(.sendHighWaterMark, int: messages)
    }

    /// Sets how many incoming messages may queue per peer before libzmq stops reading
    /// (`ZMQ_RCVHWM`).
    ///
    /// Set it before ``bind(_:)`` or ``connect(_:)``: it applies to connections made later.
    ///
    /// - Parameter messages: The limit; 0 means none. libzmq's default is 1000.
    /// - Throws: ``ZMQError`` from `zmq_setsockopt`.
    public func setReceiveHighWaterMark(_ messages: Int32) throws(ZMQError) {
        try setOption(.receiveHighWaterMark, int: messages)
    }

    /// Sets the largest message a peer may send (`ZMQ_MAXMSGSIZE`).
    ///
    /// A peer that sends a larger message is disconnected; the message is never delivered
    /// and no receive reports it.
    ///
    /// - Parameter bytes: The limit in bytes; -1 (the default) means none.
    /// - Throws: ``ZMQError`` from `zmq_setsockopt`.
    public func setMaxMessageSize(_ bytes: Int64) throws(ZMQError) {
        try setOption(.maxMessageSize, int64: bytes)
    }

    /// Sets how long a waiting receive blocks before returning `nil` (`ZMQ_RCVTIMEO`).
    ///
    /// - Parameter milliseconds: The limit; -1 (the default) waits forever.
    /// - Throws: ``ZMQError`` from `zmq_setsockopt`.
    public func setReceiveTimeout(milliseconds: Int32) throws(ZMQError) {
        try setOption(.receiveTimeout, int: milliseconds)
    }

    /// Sets how long a waiting send blocks before returning `false` (`ZMQ_SNDTIMEO`).
    ///
    /// - Parameter milliseconds: The limit; -1 (the default) waits forever.
    /// - Throws: ``ZMQError`` from `zmq_setsockopt`.
    public func setSendTimeout(milliseconds: Int32) throws(ZMQError) {
        try setOption(.sendTimeout, int: milliseconds)
    }

    /// Sets whether messages queue only for completed connections (`ZMQ_IMMEDIATE`).
    ///
    /// When on, a `push` socket whose peer is not connected yet blocks (or returns `false`)
    /// instead of queueing for a connection that may never come.
    ///
    /// - Throws: ``ZMQError`` from `zmq_setsockopt`.
    public func setImmediate(_ enabled: Bool) throws(ZMQError) {
        try setOption(.immediate, int: enabled ? 1 : 0)
    }

    /// Sets whether `tcp://` endpoints may use IPv6 as well as IPv4 (`ZMQ_IPV6`).
    ///
    /// Off by default; needed to bind or connect to an IPv6 address or name.
    ///
    /// - Throws: ``ZMQError`` from `zmq_setsockopt`.
    public func setIPv6(_ enabled: Bool) throws(ZMQError) {
        try setOption(.ipv6, int: enabled ? 1 : 0)
    }

    // MARK: Subscriptions

    /// Receives the messages whose first part starts with `prefix` (`ZMQ_SUBSCRIBE`, `sub` only).
    ///
    /// A `sub` socket receives nothing until it subscribes; an empty prefix matches all.
    ///
    /// - Throws: ``ZMQError`` from `zmq_setsockopt`; `EINVAL` for a socket that is not `sub`.
    public func subscribe(_ prefix: [UInt8]) throws(ZMQError) {
        try setOption(.subscribe, bytes: prefix)
    }

    /// Receives the messages whose first part starts with the UTF-8 bytes of `prefix`.
    ///
    /// - Throws: ``ZMQError`` from `zmq_setsockopt`.
    public func subscribe(_ prefix: String) throws(ZMQError) {
        try setOption(.subscribe, bytes: Array(prefix.utf8))
    }

    /// Removes one earlier ``subscribe(_:)-([UInt8])`` of `prefix` (`ZMQ_UNSUBSCRIBE`).
    ///
    /// - Throws: ``ZMQError`` from `zmq_setsockopt`.
    public func unsubscribe(_ prefix: [UInt8]) throws(ZMQError) {
        try setOption(.unsubscribe, bytes: prefix)
    }

    // MARK: Connections

    /// Sets how long to wait before reconnecting to a lost peer (`ZMQ_RECONNECT_IVL`).
    ///
    /// - Parameter milliseconds: The wait; libzmq's default is 100; -1 never reconnects.
    /// - Throws: ``ZMQError`` from `zmq_setsockopt`.
    public func setReconnectInterval(milliseconds: Int32) throws(ZMQError) {
        try setOption(.reconnectInterval, int: milliseconds)
    }

    /// Sets the limit that successive reconnect waits double up to (`ZMQ_RECONNECT_IVL_MAX`).
    ///
    /// - Parameter milliseconds: The limit; 0 (the default) keeps every wait at the
    ///   ``setReconnectInterval(milliseconds:)`` value.
    /// - Throws: ``ZMQError`` from `zmq_setsockopt`.
    public func setMaxReconnectInterval(milliseconds: Int32) throws(ZMQError) {
        try setOption(.maxReconnectInterval, int: milliseconds)
    }

    /// Makes libzmq ping each peer and drop connections that stop answering
    /// (`ZMQ_HEARTBEAT_IVL`, `ZMQ_HEARTBEAT_TIMEOUT`).
    ///
    /// This finds dead TCP connections (a host gone without closing) that would otherwise
    /// keep queued messages forever. Set it before ``bind(_:)`` or ``connect(_:)``.
    ///
    /// - Parameters:
    ///   - intervalMilliseconds: Time between pings; 0 (the default) turns heartbeats off.
    ///   - timeoutMilliseconds: How long to wait for any traffic after a ping before dropping
    ///     the connection.
    /// - Throws: ``ZMQError`` from `zmq_setsockopt`.
    public func setHeartbeat(intervalMilliseconds: Int32, timeoutMilliseconds: Int32) throws(ZMQError) {
        try setOption(.heartbeatInterval, int: intervalMilliseconds)
        try setOption(.heartbeatTimeout, int: timeoutMilliseconds)
    }

    /// Makes the kernel probe each `tcp://` connection once it has been silent for `idle`
    /// seconds, every `interval` seconds, and drop it after `count` probes go unanswered
    /// (`ZMQ_TCP_KEEPALIVE` and its `_IDLE`, `_INTVL` and `_CNT`).
    ///
    /// Unlike ``setHeartbeat(intervalMilliseconds:timeoutMilliseconds:)`` the kernel answers
    /// the probes, so a peer that is alive is never dropped because this socket stopped
    /// reading for a while. Set it before ``bind(_:)`` or ``connect(_:)``.
    ///
    /// - Throws: ``ZMQError`` from `zmq_setsockopt`.
    public func setTCPKeepalive(idleSeconds: Int32, intervalSeconds: Int32, count: Int32) throws(ZMQError) {
        try setOption(.tcpKeepalive, int: 1)
        try setOption(.tcpKeepaliveIdle, int: idleSeconds)
        try setOption(.tcpKeepaliveInterval, int: intervalSeconds)
        try setOption(.tcpKeepaliveCount, int: count)
    }

    // MARK: Setting options

    /// Sets an `int` option.
    func setOption(_ option: ZMQOption, int value: Int32) throws(ZMQError) {
        var value = value
        try setOption(option, pointer: &value, size: MemoryLayout<Int32>.size)
    }

    /// Sets an `int64_t` option.
    func setOption(_ option: ZMQOption, int64 value: Int64) throws(ZMQError) {
        var value = value
        try setOption(option, pointer: &value, size: MemoryLayout<Int64>.size)
    }

    /// Sets a binary or string option from its bytes (with no terminating NUL).
    func setOption(_ option: ZMQOption, bytes: [UInt8]) throws(ZMQError) {
        let handle = self.handle
        let set = bytes.withUnsafeBytes { buffer in
            Result { () throws(ZMQError) in
                try ZMQCall.retryingInterrupts("zmq_setsockopt", context: option.name) {
                    zmq_setsockopt(handle, option.code, buffer.baseAddress, buffer.count)
                }
            }
        }
        try set.get()
    }

    /// Sets an option from `size` bytes at `pointer`.
    private func setOption(_ option: ZMQOption, pointer: UnsafeRawPointer, size: Int) throws(ZMQError) {
        let handle = self.handle
        try ZMQCall.retryingInterrupts("zmq_setsockopt", context: option.name) {
            zmq_setsockopt(handle, option.code, pointer, size)
        }
    }
}

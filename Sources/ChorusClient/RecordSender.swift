import ChorusZMQ
import Foundation
import Synchronization

/// The background thread that owns a client's PUSH socket: it sends what ``Run`` queues,
/// sends heartbeats while the queue is idle, and on ``close(timeout:)`` flushes and closes.
///
/// The training loop only appends encoded messages to a bounded queue, so a slow or absent
/// collector never blocks it for long. When the queue is full, the caller waits up to
/// ``fullQueueWait`` seconds for room; if none frees up, the message is dropped and counted
/// in ``dropped``.
final class RecordSender: Sendable {
    /// How long `enqueue` waits for room in a full queue before dropping.
    static let fullQueueWait = 1.0

    private struct State: Sendable {
        var messages: [[UInt8]] = []
        var head = 0
        var closeDeadline: Date?
        var sent: Int64 = 0
        var dropped: Int64 = 0
        var failure: String?

        var count: Int { messages.count - head }

        mutating func popFirst() -> [UInt8]? {
            guard head < messages.count else { return nil }
            let message = messages[head]
            head += 1
            if head >= 1_024 && head * 2 >= messages.count {
                messages.removeFirst(head)
                head = 0
            }
            return message
        }
    }

    private let state = Mutex(State())
    private let wakeUp = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)
    private let capacity: Int
    private let heartbeatInterval: Double
    private let heartbeat: @Sendable () -> [UInt8]

    /// Connects to `endpoint` on a new sender thread.
    /// - Parameters:
    ///   - capacity: the most messages queued.
    ///   - heartbeatInterval: seconds of idleness after which a heartbeat is sent.
    ///   - heartbeat: makes the heartbeat to send.
    /// - Throws: ``ZMQError`` if the endpoint is malformed.
    init(
        endpoint: String,
        curve: CurveClientKeys?,
        capacity: Int,
        heartbeatInterval: Double,
        heartbeat: @escaping @Sendable () -> [UInt8]
    ) throws {
        self.capacity = capacity
        self.heartbeatInterval = heartbeatInterval
        self.heartbeat = heartbeat
        let connected = DispatchSemaphore(value: 0)
        let connectError = Mutex<ZMQError?>(nil)
        let thread = Thread { [self] in
            serve(endpoint: endpoint, curve: curve) { error in
                connectError.withLock { $0 = error }
                connected.signal()
            }
            // The context is gone by now: its termination has flushed the socket's last messages.
            finished.signal()
        }
        thread.name = "chorus-sender"
        thread.start()
        connected.wait()
        if let error = connectError.withLock({ $0 }) { throw error }
    }

    /// Messages dropped because the queue stayed full or the sender was closed.
    var dropped: Int64 { state.withLock { $0.dropped } }

    /// Why sending failed, if it did.
    var failure: String? { state.withLock { $0.failure } }

    /// Queues one encoded message.
    /// - Returns: `false` if it was dropped.
    @discardableResult
    func enqueue(_ message: [UInt8]) -> Bool {
        let giveUp = Date().addingTimeInterval(Self.fullQueueWait)
        while true {
            let queued: Bool? = state.withLock { state in
                guard state.closeDeadline == nil else { return false }
                guard state.count < capacity else { return nil }
                state.messages.append(message)
                return true
            }
            if queued == true {
                wakeUp.signal()
                return true
            }
            if queued == false || Date() >= giveUp {
                state.withLock { $0.dropped += 1 }
                return false
            }
            usleep(1_000)
        }
    }

    /// Sends what is queued, closes the socket and waits for ZeroMQ to pass on the last
    /// messages.
    /// - Returns: whether every queued message left within `timeout` seconds.
    func close(timeout: Double) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        state.withLock { $0.closeDeadline = $0.closeDeadline ?? deadline }
        wakeUp.signal()
        let ended = finished.wait(timeout: .now() + timeout + 1) == .success
        return ended && state.withLock { $0.count == 0 && $0.failure == nil && $0.dropped == 0 }
    }

    /// Connects, reports the outcome through `connected`, then sends until closed. The context
    /// and socket live only in this call, so the context's termination, which waits for the
    /// last messages within the linger period, is over when it returns.
    private func serve(endpoint: String, curve: CurveClientKeys?, connected: (ZMQError?) -> Void) {
        do {
            try serveConnected(endpoint: endpoint, curve: curve, connected: connected)
        } catch {
            connected(error)
        }
    }

    private func serveConnected(
        endpoint: String,
        curve: CurveClientKeys?,
        connected: (ZMQError?) -> Void
    ) throws(ZMQError) {
        // A named context, not a temporary passed straight to the socket: with a temporary,
        // Swift 6.3 released the context inside ZMQSocket's init and its termination hung.
        let context = try ZMQContext()
        let socket = try ZMQSocket(context, type: .push)
        try socket.setSendTimeout(milliseconds: 100)
        // Queue only on a connection that completed its handshake, so that a collector that
        // is away, or refuses this worker's key, leaves messages here, where finish() sees them.
        try socket.setImmediate(true)
        if let curve {
            try socket.setCurveClient(
                serverPublicKey: curve.serverPublicKey,
                publicKey: curve.publicKey,
                secretKey: curve.secretKey
            )
        }
        try socket.connect(endpoint)
        connected(nil)
        var lastActivity = Date()
        while true {
            if let message = state.withLock({ $0.popFirst() }) {
                if send(message, on: socket) {
                    state.withLock { $0.sent += 1 }
                } else {
                    state.withLock { $0.dropped += 1 }
                }
                lastActivity = Date()
                continue
            }
            if let deadline = state.withLock({ $0.closeDeadline }) {
                // Bound how long the context's termination may wait for the last messages.
                let remaining = max(0, deadline.timeIntervalSinceNow)
                try? socket.setLinger(milliseconds: Int32(min(remaining * 1000, Double(Int32.max))))
                break
            }
            if Date().timeIntervalSince(lastActivity) >= heartbeatInterval {
                _ = try? socket.send(heartbeat(), wait: false)
                lastActivity = Date()
            }
            _ = wakeUp.wait(timeout: .now() + min(heartbeatInterval, 0.5))
        }
        _ = consume socket
    }

    /// Sends `message`, waiting while ZeroMQ's own queue is full (no collector yet), until
    /// the close deadline passes.
    private func send(_ message: [UInt8], on socket: borrowing ZMQSocket) -> Bool {
        while true {
            // Past the close deadline every message left is dropped at once, not after a send
            // timeout each, so that a worker whose collector is gone is not held at exit.
            if let deadline = state.withLock({ $0.closeDeadline }), Date() >= deadline {
                return false
            }
            do {
                if try socket.send(message) { return true }
            } catch {
                state.withLock { $0.failure = "\(error)" }
                return false
            }
        }
    }
}

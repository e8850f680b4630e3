import ChorusCore
import ChorusZMQ
import Foundation
import Synchronization

/// The background thread that owns a client's sockets: it sends what ``Run`` queues, sends
/// heartbeats while the queue is idle, listens for the collector's acknowledgements and sends
/// again what a fault lost, and on ``close(timeout:)`` flushes and closes.
///
/// The training loop only appends encoded messages to a bounded queue, so a slow or absent
/// collector never blocks it for long. When the queue is full, the caller waits up to
/// ``fullQueueWait`` seconds for room; if none frees up, the message is dropped and counted
/// in ``dropped``, and a dropped record's sequence number is sent as skipped, so that the
/// collector's acknowledgements can pass over it. Sent records are kept in a
/// ``DeliveryLedger`` until acknowledged.
final class RecordSender: Sendable {
    /// How long `enqueue` waits for room in a full queue before dropping.
    static let fullQueueWait = 1.0
    /// The most messages sent between two looks at the acknowledgements.
    static let burst = 256
    /// How long `close` waits for a first acknowledgement from a collector never heard: a
    /// collector can be too busy to commit within a second or two (a flood from another
    /// sender, say), and closing without knowing lost records that its full queue held.
    /// Against a collector without acknowledgements, set the endpoint to `none`.
    static let firstAcknowledgementWait = 10.0
    /// How often ZeroMQ pings the collector's acknowledgement socket, in milliseconds.
    static let pingInterval: Int32 = 1_000
    /// How long a connection may stay silent after a ping before ZeroMQ drops it and
    /// connects again, in milliseconds.
    static let pingTimeout: Int32 = 3_000

    /// What became of the messages, readable from any thread.
    struct Report: Sendable, Hashable {
        /// Messages handed to ZeroMQ, resends not included.
        var sent: Int64 = 0
        /// Messages dropped because the queue stayed full or the sender was closed.
        var dropped: Int64 = 0
        /// Records that left the retention buffer before an acknowledgement covered them.
        var unconfirmed: Int64 = 0
        /// Messages sent again after a collector restart or a stall.
        var resent: Int64 = 0
        /// Whether a collector ever acknowledged anything.
        var acknowledged = false
        /// Whether the collector has committed every record and the end.
        var confirmed = false
    }

    private struct State: Sendable {
        var messages: [OutgoingMessage] = []
        var head = 0
        /// Sequence numbers of records dropped, with why, not yet sent as skipped.
        var skipped: [(numbers: ClosedRange<Int64>, reason: String)] = []
        var closeDeadline: Date?
        var report = Report()
        var failure: String?

        var count: Int { messages.count - head }

        mutating func takeSkipped() -> [(numbers: ClosedRange<Int64>, reason: String)] {
            defer { skipped = [] }
            return skipped
        }

        mutating func noteSkipped(_ sequenceNumber: Int64, reason: String) {
            if let last = skipped.last, last.numbers.upperBound == sequenceNumber - 1, last.reason == reason {
                skipped[skipped.count - 1].numbers = last.numbers.lowerBound...sequenceNumber
            } else {
                skipped.append((sequenceNumber...sequenceNumber, reason))
            }
        }

        mutating func popFirst() -> OutgoingMessage? {
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

    /// Where and how the sender connects.
    struct Connection: Sendable {
        /// The collector's PULL endpoint.
        var endpoint: String
        /// The collector's acknowledgement endpoint, or `nil` to listen for none.
        var ackEndpoint: String?
        /// The incarnation whose acknowledgements to listen for.
        var sender: Sender
        /// CURVE keys, for a collector that requires them.
        var curve: CurveClientKeys?
    }

    private let state = Mutex(State())
    private let wakeUp = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)
    private let capacity: Int
    private let heartbeatInterval: Double
    private let heartbeat: @Sendable () -> [UInt8]

    /// Connects on a new sender thread.
    /// - Parameters:
    ///   - capacity: the most messages queued.
    ///   - retention: the most sent records kept until acknowledged.
    ///   - heartbeatInterval: seconds of idleness after which a heartbeat is sent.
    ///   - heartbeat: makes the heartbeat to send.
    /// - Throws: ``ZMQError`` if an endpoint is malformed.
    init(
        connection: Connection,
        capacity: Int,
        retention: Int,
        heartbeatInterval: Double,
        heartbeat: @escaping @Sendable () -> [UInt8]
    ) throws {
        self.capacity = capacity
        self.heartbeatInterval = heartbeatInterval
        self.heartbeat = heartbeat
        let connected = DispatchSemaphore(value: 0)
        let connectError = Mutex<ZMQError?>(nil)
        let thread = Thread { [self] in
            serve(connection, retention: retention) { error in
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

    /// What became of the messages so far.
    var report: Report { state.withLock { $0.report } }

    /// Messages dropped because the queue stayed full or the sender was closed.
    var dropped: Int64 { report.dropped }

    /// Why sending failed, if it did.
    var failure: String? { state.withLock { $0.failure } }

    /// Queues one message.
    /// - Returns: `false` if it was dropped.
    @discardableResult
    func enqueue(_ message: OutgoingMessage) -> Bool {
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
                state.withLock { state in
                    state.report.dropped += 1
                    if case .record(let sequenceNumber, _) = message, state.closeDeadline == nil {
                        state.noteSkipped(
                            sequenceNumber, reason: "dropped: the client's queue of \(capacity) messages stayed full")
                    }
                }
                wakeUp.signal()
                return false
            }
            usleep(1_000)
        }
    }

    /// Drops a record that will never be sent (the collector would refuse it) and counts
    /// it; the sender thread names it in a `skip`, which the collector settles.
    func skip(_ sequenceNumber: Int64, reason: String) {
        state.withLock { state in
            state.report.dropped += 1
            state.noteSkipped(sequenceNumber, reason: reason)
        }
        wakeUp.signal()
    }

    /// Sends what is queued and, when the collector acknowledges, waits until it has
    /// committed everything; then closes the sockets, letting ZeroMQ pass on the last
    /// messages.
    /// - Returns: whether, within `timeout` seconds, the collector confirmed everything (or,
    ///   from a collector that never acknowledged, every queued message left).
    func close(timeout: Double) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        state.withLock { $0.closeDeadline = $0.closeDeadline ?? deadline }
        wakeUp.signal()
        let ended = finished.wait(timeout: .now() + timeout + 1) == .success
        return ended
            && state.withLock { state in
                guard state.count == 0, state.failure == nil, state.report.dropped == 0 else { return false }
                return state.report.acknowledged ? state.report.confirmed : true
            }
    }

    /// Connects, reports the outcome through `connected`, then sends until closed. The context
    /// and sockets live only in this call, so the context's termination, which waits for the
    /// last messages within the linger period, is over when it returns.
    private func serve(_ connection: Connection, retention: Int, connected: (ZMQError?) -> Void) {
        do {
            try serveConnected(connection, retention: retention, connected: connected)
        } catch {
            connected(error)
        }
    }

    private func serveConnected(
        _ connection: Connection,
        retention: Int,
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
        try connection.curve?.secure(socket)
        try socket.connect(connection.endpoint)
        var acknowledgements = try connection.ackEndpoint.map { endpoint throws(ZMQError) in
            try AcknowledgementListener(context: context, endpoint: endpoint, connection: connection)
        }
        connected(nil)

        var ledger = DeliveryLedger(capacity: retention)
        var encoder = WireEncoder()
        var lastActivity = Date()
        var firstAcknowledgementBy: Date?
        while true {
            // Dropped records first: the collector settles them, and acknowledges past them.
            for (numbers, reason) in state.withLock({ $0.takeSkipped() }) {
                let notice = SkippedRecords(sender: connection.sender, sequenceNumbers: numbers, reason: reason)
                let message = OutgoingMessage.skip(
                    lastSequenceNumber: numbers.upperBound, encoder.encode(.skip(notice)))
                if send(message.bytes, on: socket) { ledger.sent(message, at: Self.now()) }
            }
            var burst = 0
            while burst < Self.burst, let message = state.withLock({ $0.popFirst() }) {
                if send(message.bytes, on: socket) {
                    ledger.sent(message, at: Self.now())
                    state.withLock { $0.report.sent += 1 }
                } else {
                    state.withLock { $0.report.dropped += 1 }
                }
                burst += 1
                lastActivity = Date()
            }
            if let acknowledgements {
                resend(acknowledgements.receive(into: &ledger), on: socket)
                resend(ledger.resendIfStalled(at: Self.now()), on: socket)
                publish(ledger)
            }
            if burst == Self.burst { continue }
            if let deadline = state.withLock({ $0.count == 0 ? $0.closeDeadline : nil }) {
                let now = Date()
                if acknowledgements != nil && ledger.collector == nil {
                    firstAcknowledgementBy =
                        firstAcknowledgementBy ?? now.addingTimeInterval(Self.firstAcknowledgementWait)
                }
                let waitsForCommit =
                    acknowledgements != nil && !ledger.isConfirmed
                    && (ledger.collector != nil || now < firstAcknowledgementBy ?? now)
                if !waitsForCommit || now >= deadline {
                    // Bound how long the context's termination may wait for the last messages.
                    let remaining = max(0, deadline.timeIntervalSinceNow)
                    try? socket.setLinger(milliseconds: Int32(min(remaining * 1000, Double(Int32.max))))
                    break
                }
            } else if Date().timeIntervalSince(lastActivity) >= heartbeatInterval {
                _ = try? socket.send(heartbeat(), wait: false)
                lastActivity = Date()
            }
            _ = wakeUp.wait(timeout: .now() + (acknowledgements == nil ? min(heartbeatInterval, 0.5) : 0.02))
        }
        acknowledgements = nil
        _ = consume socket
    }

    private func resend(_ messages: [[UInt8]], on socket: borrowing ZMQSocket) {
        for message in messages where !send(message, on: socket) { break }
    }

    private func publish(_ ledger: DeliveryLedger) {
        state.withLock { state in
            state.report.unconfirmed = ledger.unconfirmed
            state.report.resent = ledger.resent
            state.report.acknowledged = ledger.collector != nil
            state.report.confirmed = ledger.isConfirmed
        }
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

    private static func now() -> Double { Date().timeIntervalSince1970 }
}

/// The SUB socket on which a sender hears the collector acknowledge its incarnation.
private final class AcknowledgementListener {
    private let socket: ZMQSocket
    private let sender: Sender

    init(context: ZMQContext, endpoint: String, connection: RecordSender.Connection) throws(ZMQError) {
        socket = try ZMQSocket(context, type: .sub)
        sender = connection.sender
        try socket.setLinger(milliseconds: 0)
        // A cut cable or a dead host leaves a connection that looks alive for minutes, and
        // acknowledgements would stop arriving; pinging drops it, so that ZeroMQ connects
        // afresh once the network is back. The PUSH socket does not ping: a busy collector
        // stops reading for a while, pings included, and would see live connections dropped.
        try socket.setHeartbeat(
            intervalMilliseconds: RecordSender.pingInterval,
            timeoutMilliseconds: RecordSender.pingTimeout
        )
        try connection.curve?.secure(socket)
        try socket.subscribe(Acknowledgement.topic(for: sender))
        try socket.connect(endpoint)
    }

    /// Takes every acknowledgement waiting into `ledger`, ignoring what is not one for this
    /// incarnation.
    /// - Returns: what the ledger says to send again.
    func receive(into ledger: inout DeliveryLedger) -> [[UInt8]] {
        var again: [[UInt8]] = []
        while let parts = try? socket.receiveParts(wait: false) {
            guard parts.count == 2, let ack = Acknowledgement(decoding: parts[1]), ack.sender == sender else {
                continue
            }
            again += ledger.acknowledge(ack, at: Date().timeIntervalSince1970)
        }
        return again
    }
}

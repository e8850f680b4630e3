import ChorusCore
import ChorusZMQ
import Foundation
import Synchronization

/// Where a relay listens, where it forwards, and how it batches.
public struct RelayConfiguration: Sendable {
    /// Endpoints the node's ranks send to (PULL).
    public var endpoints: [String]
    /// The collector (or relay) upstream (PUSH).
    public var upstream: String
    /// The upstream's acknowledgement endpoint; `nil` pairs one with ``upstream``.
    public var upstreamAcknowledgements: String?
    /// Where the node's ranks hear acknowledgements; `nil` pairs one with each endpoint.
    public var ackEndpoints: [String]?
    /// The relay's id in its batches: 1–64 characters from `A-Z a-z 0-9 . _ -`.
    public var relayID: String
    /// The most messages in one batch.
    public var batchMessages = 1_000
    /// The longest a message waits in a batch, in seconds.
    public var batchInterval = 0.02
    /// The keys for an upstream that runs with CURVE; `nil` connects in the clear.
    public var upstreamKeys: RelayUpstreamKeys?
    /// The limits every message is checked against before it goes upstream.
    public var limits = WireLimits()
    /// The logger.
    public var logger = Logger()

    /// Creates a configuration.
    public init(endpoints: [String], upstream: String, relayID: String) {
        self.endpoints = endpoints
        self.upstream = upstream
        self.relayID = relayID
    }
}

/// What a relay has done so far.
public struct RelayCounters: Sendable, Hashable {
    /// Protocol messages received from the node's ranks.
    public var messagesIn: Int64 = 0
    /// Messages forwarded upstream.
    public var messagesOut: Int64 = 0
    /// Frames sent upstream: batches, and messages too large for one.
    public var framesOut: Int64 = 0
    /// Messages refused, never forwarded.
    public var rejected: Int64 = 0
    /// Acknowledgements passed on to the node's ranks.
    public var acknowledgements: Int64 = 0
}

/// A node-local tier between ranks and a collector (`protocol.md`, section 9): it takes the
/// node's ranks' messages, refuses what the collector would refuse, and forwards the rest
/// upstream in batches, each message's bytes untouched; it passes the upstream's
/// acknowledgements back to the ranks, so that they keep their records until the collector's
/// store has them. It keeps nothing itself: a relay that dies loses only what it held, and
/// the ranks send that again.
public final class Relay: Sendable {
    /// The configuration.
    public let configuration: RelayConfiguration
    private let state = Mutex(Shared())

    private struct Shared: Sendable {
        var counters = RelayCounters()
        var stopRequested = false
        var stopped = false
        var failure: String?
        var boundEndpoints: [String] = []
        var boundAckEndpoints: [String] = []
    }

    /// Creates a relay; nothing is bound until ``start()``.
    public init(configuration: RelayConfiguration) {
        self.configuration = configuration
    }

    /// The counters so far.
    public var counters: RelayCounters { state.withLock { $0.counters } }
    /// The endpoints as bound.
    public var boundEndpoints: [String] { state.withLock { $0.boundEndpoints } }
    /// The acknowledgement endpoints as bound.
    public var boundAckEndpoints: [String] { state.withLock { $0.boundAckEndpoints } }
    /// Why the relay stopped on its own, if it did.
    public var failure: String? { state.withLock { $0.failure } }

    /// Binds, connects upstream and starts forwarding on its own thread.
    /// - Throws: ZeroMQ's error (an endpoint in use, say); nothing runs then.
    public func start() throws {
        let ready = DispatchSemaphore(value: 0)
        let startError = Mutex<(any Error)?>(nil)
        let thread = Thread { [self] in
            do {
                let context = try ZMQContext()
                try withExtendedLifetime(context) {
                    let loop = try RelayLoop(relay: self, context: context)
                    state.withLock {
                        $0.boundEndpoints = loop.boundEndpoints
                        $0.boundAckEndpoints = loop.boundAckEndpoints
                    }
                    ready.signal()
                    loop.run()
                }
            } catch {
                startError.withLock { $0 = error }
                state.withLock { $0.stopped = true }
                ready.signal()
            }
        }
        thread.name = "chorus-relay"
        thread.start()
        ready.wait()
        if let error = startError.withLock({ $0 }) { throw error }
    }

    /// Asks the relay to forward what it holds and end; returns at once.
    public func stop() {
        state.withLock { $0.stopRequested = true }
    }

    /// Waits until the relay has ended, or `timeout` seconds pass.
    @discardableResult
    public func waitUntilStopped(timeout: Double = .infinity) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while !state.withLock({ $0.stopped }) {
            if Date() >= deadline { return false }
            usleep(1_000)
        }
        return true
    }

    // MARK: - For the loop

    var stopRequested: Bool { state.withLock { $0.stopRequested } }

    func count(_ body: (inout RelayCounters) -> Void) {
        state.withLock { body(&$0.counters) }
    }

    func ended(failure: String?) {
        state.withLock {
            $0.failure = failure
            $0.stopped = true
        }
    }
}

/// The relay's thread: it owns the four sockets.
private final class RelayLoop {
    let boundEndpoints: [String]
    let boundAckEndpoints: [String]
    private unowned let relay: Relay
    private let configuration: RelayConfiguration
    private let ranks: ZMQSocket
    private let upstream: ZMQSocket
    private let upstreamAcknowledgements: ZMQSocket
    private let acknowledgements: ZMQSocket
    private let decoder: WireDecoder
    private var encoder = WireEncoder()
    private var batch: WireBatch
    private var batchStarted: Double?
    private var subscribed: Set<Sender> = []
    private var rejectionsLogged: Set<String> = []
    private var logger: Logger { configuration.logger }

    init(relay: Relay, context: ZMQContext) throws {
        self.relay = relay
        configuration = relay.configuration
        decoder = WireDecoder(limits: configuration.limits)
        batch = WireBatch(relay: configuration.relayID, maxBytes: configuration.limits.maxMessageBytes)

        ranks = try ZMQSocket(context, type: .pull)
        try ranks.setMaxMessageSize(Int64(configuration.limits.maxMessageBytes))
        try ranks.setReceiveTimeout(milliseconds: Int32(max(1, configuration.batchInterval * 1000)))
        try ranks.setLinger(milliseconds: 0)
        // No pings on the ranks' connections, unlike the collector's: they never leave the node,
        // so no network can cut them, and the relay stops reading them whenever the upstream is
        // slower than they are. libzmq 4.3.4 then times a connection out for the pongs it has not
        // read, and can abort the process when reading resumes (zeromq/libzmq#4364, #3937).
        var bound: [String] = []
        for endpoint in configuration.endpoints {
            try ranks.bind(endpoint)
            bound.append(try ranks.lastEndpoint)
        }
        boundEndpoints = bound

        acknowledgements = try ZMQSocket(context, type: .pub)
        try acknowledgements.setLinger(milliseconds: 0)
        var boundAcks: [String] = []
        for endpoint in configuration.ackEndpoints ?? bound.compactMap({ Acknowledgement.endpoint(pairedWith: $0) }) {
            do {
                try acknowledgements.bind(endpoint)
            } catch {
                throw AckEndpointError(endpoint: endpoint, underlying: error)
            }
            boundAcks.append(try acknowledgements.lastEndpoint)
        }
        boundAckEndpoints = boundAcks

        upstream = try ZMQSocket(context, type: .push)
        try configuration.upstreamKeys?.secure(upstream)
        try upstream.setSendTimeout(milliseconds: 100)
        try upstream.setLinger(milliseconds: 2_000)
        try upstream.connect(configuration.upstream)
        upstreamAcknowledgements = try ZMQSocket(context, type: .sub)
        try configuration.upstreamKeys?.secure(upstreamAcknowledgements)
        try upstreamAcknowledgements.setLinger(milliseconds: 0)
        try upstreamAcknowledgements.setHeartbeat(intervalMilliseconds: 1_000, timeoutMilliseconds: 3_000)
        if let endpoint = configuration.upstreamAcknowledgements
            ?? Acknowledgement.endpoint(pairedWith: configuration.upstream)
        {
            try upstreamAcknowledgements.connect(endpoint)
        }
        logger.info(
            "relay listening",
            [
                ("endpoints", bound.joined(separator: ",")), ("acks", boundAcks.joined(separator: ",")),
                ("upstream", configuration.upstream), ("relay", configuration.relayID),
            ]
        )
    }

    func run() {
        var failure: String?
        do {
            while !relay.stopRequested {
                try receive(wait: true)
                try flushIfDue(now: wallClockSeconds())
                passAcknowledgements()
            }
            while try receive(wait: false) {}
            try flush()
            passAcknowledgements()
            for endpoint in boundEndpoints + boundAckEndpoints where endpoint.hasPrefix("ipc://") {
                unlink(String(endpoint.dropFirst("ipc://".count)))
            }
            let counters = relay.counters
            logger.info(
                "relay stopped",
                [
                    ("messages_in", String(counters.messagesIn)), ("messages_out", String(counters.messagesOut)),
                    ("frames_out", String(counters.framesOut)), ("rejected", String(counters.rejected)),
                ]
            )
        } catch {
            failure = "\(error)"
            logger.error("relay failed", [("error", "\(error)")])
        }
        relay.ended(failure: failure)
    }

    /// Takes one frame from the ranks into the batch.
    /// - Returns: whether one came.
    @discardableResult
    private func receive(wait: Bool) throws -> Bool {
        let taken: Bool? = try ranks.receive(wait: wait) { bytes, more in
            if more {
                _ = try ranks.discardRemainingParts()
                try reject(WireError(.multipart, "a message must have exactly one frame"))
                return true
            }
            do {
                switch try decoder.decodeFrame(bytes) {
                case .message(let message):
                    try forward(bytes, of: message)
                case .batch(_, let messages):
                    // A relay below this one: its messages go on in this relay's batches.
                    for inner in messages {
                        switch inner {
                        case .success(let message):
                            let encoded = encoder.encode(message)
                            try encoded.withUnsafeBytes { try forward($0, of: message) }
                        case .failure(let error):
                            try reject(error)
                        }
                    }
                }
            } catch let error as WireError {
                try reject(error)
            }
            return true
        }
        return taken ?? false
    }

    private func forward(_ bytes: UnsafeRawBufferPointer, of message: WireMessage) throws {
        relay.count { $0.messagesIn += 1 }
        if subscribed.insert(message.sender).inserted {
            try upstreamAcknowledgements.subscribe(Acknowledgement.topic(for: message.sender))
        }
        guard batch.canHold(bytes.count) else {
            try flush()
            try sendUpstream(Array(bytes), messages: 1)
            return
        }
        if batch.size(adding: bytes.count) > batch.maxBytes { try flush() }
        batch.append(bytes)
        batchStarted = batchStarted ?? wallClockSeconds()
        if batch.count >= configuration.batchMessages { try flush() }
    }

    private func flushIfDue(now: Double) throws {
        if let started = batchStarted, now - started >= configuration.batchInterval { try flush() }
    }

    private func flush() throws {
        batchStarted = nil
        guard !batch.isEmpty else { return }
        let count = batch.count
        try sendUpstream(batch.take(), messages: count)
    }

    /// Sends a frame upstream, waiting while the upstream is away or its queue is full, as
    /// long as the relay is not stopping; the ranks' records meanwhile wait in their own
    /// queues, and their clients keep them until acknowledged.
    private func sendUpstream(_ frame: [UInt8], messages: Int) throws {
        while true {
            if try upstream.send(frame) {
                relay.count {
                    $0.framesOut += 1
                    $0.messagesOut += Int64(messages)
                }
                return
            }
            passAcknowledgements()
            if relay.stopRequested {
                logger.warning(
                    "upstream unreachable at stop; the ranks will send again", [("messages", String(messages))])
                return
            }
        }
    }

    /// Passes every acknowledgement that came from upstream on to the ranks, as it came.
    private func passAcknowledgements() {
        var passed: Int64 = 0
        while let parts = try? upstreamAcknowledgements.receiveParts(wait: false) {
            guard parts.count == 2 else { continue }
            _ = try? acknowledgements.send(parts[0], more: true, wait: false)
            _ = try? acknowledgements.send(parts[1], wait: false)
            passed += 1
        }
        if passed > 0 { relay.count { $0.acknowledgements += passed } }
    }

    /// Counts and logs a refused message. A `log` record refused for what it holds goes on
    /// as a `skip` of its sequence number, so that the collector settles it as it would a
    /// record it had refused itself, and the rank's acknowledgements pass over it.
    private func reject(_ error: WireError) throws {
        relay.count { $0.rejected += 1 }
        if let sender = error.sender, let sequenceNumber = error.sequenceNumber {
            let reason = "relay \(configuration.relayID) refused the record: \(error.code)"
            let skip = WireMessage.skip(
                SkippedRecords(sender: sender, sequenceNumbers: sequenceNumber...sequenceNumber, reason: reason)
            )
            let encoded = encoder.encode(skip)
            try encoded.withUnsafeBytes { try forward($0, of: skip) }
        }
        let origin = error.sender.map { "\($0.run)/\($0.rank)/\($0.incarnation)" } ?? "unknown"
        let onceKey = "\(origin) \(error.code)"
        guard rejectionsLogged.count < 10_000, rejectionsLogged.insert(onceKey).inserted else { return }
        logger.warning(
            "rejected message", [("reason", error.code.description), ("error", error.message), ("from", origin)])
    }
}

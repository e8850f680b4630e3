import ChorusCore

/// A message a run hands its sender, with what the sender needs to know to send it again.
enum OutgoingMessage: Sendable {
    /// The incarnation's hello.
    case hello([UInt8])
    /// A `log` record.
    case record(sequenceNumber: Int64, [UInt8])
    /// A `define` of one metric pattern.
    case define(pattern: String, [UInt8])
    /// A `summary` setting one key.
    case summary(key: String, [UInt8])
    /// The incarnation's `end`.
    case end(lastSequenceNumber: Int64, [UInt8])
    /// A `skip` of records dropped before they were sent, the last of them named.
    case skip(lastSequenceNumber: Int64, [UInt8])
    /// Anything never sent again (a heartbeat).
    case transient([UInt8])

    /// The encoded message.
    var bytes: [UInt8] {
        switch self {
        case .hello(let bytes), .record(_, let bytes), .define(_, let bytes), .summary(_, let bytes),
            .end(_, let bytes), .skip(_, let bytes), .transient(let bytes):
            bytes
        }
    }
}

/// What one incarnation has sent and what the collector has acknowledged as committed, and
/// therefore what to send again after a fault (`protocol.md`, section 8).
///
/// It keeps every sent record until an acknowledgement covers it, at most `capacity` of
/// them: past that, the oldest leaves unconfirmed. It also keeps the latest hello, define
/// of each pattern, summary value of each key and end, which a restarted collector needs
/// again. Owned by the sender thread; it does no I/O and reads no clock.
struct DeliveryLedger {
    /// The most records kept for sending again.
    let capacity: Int
    /// Seconds without progress after which records still unacknowledged are sent again,
    /// while acknowledgements keep coming.
    let stallInterval: Double

    private var retained: [(sequenceNumber: Int64, bytes: [UInt8], sentAt: Double)] = []
    private var retainedHead = 0
    private var hello: [UInt8]?
    private var definitions: [(pattern: String, bytes: [UInt8])] = []
    private var summaries: [(key: String, bytes: [UInt8])] = []
    private var end: (lastSequenceNumber: Int64, bytes: [UInt8])?

    /// The collector heard last, by the id it picked when it started.
    private(set) var collector: String?
    /// Every record up to this one is committed.
    private(set) var durableSequenceNumber: Int64 = 0
    /// Whether the collector has committed the `end`.
    private(set) var endCommitted = false
    /// When the last acknowledgement arrived.
    private(set) var lastAcknowledgementAt: Double?
    private var lastProgressAt = 0.0
    /// Resends for stalls since the durable sequence number last moved: each doubles the
    /// wait before the next, up to ``maxStallBackoff`` times the stall interval, so that a
    /// collector that cannot commit (a full disk, say) is not sent everything every 5 s.
    private var stallResends = 0
    /// The longest wait between two resends for one stall, in stall intervals.
    static let maxStallBackoff = 8.0
    /// Records that left the ledger unconfirmed because it was full.
    private(set) var unconfirmed: Int64 = 0
    /// Messages sent again.
    private(set) var resent: Int64 = 0

    init(capacity: Int, stallInterval: Double = 5) {
        self.capacity = max(0, capacity)
        self.stallInterval = stallInterval
    }

    /// Records kept now.
    var retainedCount: Int { retained.count - retainedHead }

    /// Whether the collector has committed every record and the end (records that left the
    /// ledger unconfirmed included: the durable sequence number covers them).
    var isConfirmed: Bool {
        guard let end else { return false }
        return endCommitted && durableSequenceNumber >= end.lastSequenceNumber
    }

    /// Notes that `message` left at `now`.
    mutating func sent(_ message: OutgoingMessage, at now: Double) {
        switch message {
        case .hello(let bytes):
            hello = bytes
        case .record(let sequenceNumber, let bytes), .skip(let sequenceNumber, let bytes):
            // A skip is kept like a record: the collector must settle it before it can
            // acknowledge what follows, and a restarted one may not have it.
            guard sequenceNumber > durableSequenceNumber, capacity > 0 else { return }
            if retainedCount >= capacity {
                retainedHead += 1
                unconfirmed += 1
                compact()
            }
            retained.append((sequenceNumber, bytes, now))
        case .define(let pattern, let bytes):
            definitions.removeAll { $0.pattern == pattern }
            definitions.append((pattern, bytes))
        case .summary(let key, let bytes):
            summaries.removeAll { $0.key == key }
            summaries.append((key, bytes))
        case .end(let lastSequenceNumber, let bytes):
            end = (lastSequenceNumber, bytes)
        case .transient:
            break
        }
    }

    /// Takes in an acknowledgement for this incarnation.
    /// - Returns: what to send again, in order: everything the collector may lack when it
    ///   restarted (its id changed). The first acknowledgement of all asks for nothing: what
    ///   is still in flight then arrives on its own, and what a fault lost before it is sent
    ///   again once progress stalls.
    mutating func acknowledge(_ ack: Acknowledgement, at now: Double) -> [[UInt8]] {
        lastAcknowledgementAt = now
        let isNewCollector = collector != nil && ack.collector != collector
        if ack.collector != collector {
            collector = ack.collector
            durableSequenceNumber = ack.durableSequenceNumber
            endCommitted = ack.ended
            lastProgressAt = now
            stallResends = 0
        } else {
            if ack.durableSequenceNumber > durableSequenceNumber {
                lastProgressAt = now
                stallResends = 0
            }
            durableSequenceNumber = max(durableSequenceNumber, ack.durableSequenceNumber)
            endCommitted = endCommitted || ack.ended
        }
        while retainedHead < retained.count, retained[retainedHead].sequenceNumber <= durableSequenceNumber {
            retainedHead += 1
        }
        compact()
        return isNewCollector ? everythingUnconfirmed(at: now) : []
    }

    /// What to send again because records sent more than `stallInterval` ago are still not
    /// acknowledged, nothing has progressed for as long, and the collector is still heard:
    /// they were lost on the way (a connection reset, say). While nothing progresses, each
    /// resend waits twice as long as the one before, up to ``maxStallBackoff`` intervals.
    mutating func resendIfStalled(at now: Double) -> [[UInt8]] {
        let backoff = min(Self.maxStallBackoff, Double(1 << min(stallResends, 10)))
        guard let heard = lastAcknowledgementAt, now - heard < stallInterval,
            now - lastProgressAt >= stallInterval * backoff
        else { return [] }
        let oldestUnacknowledged = retainedHead < retained.count ? retained[retainedHead].sentAt : nil
        let endUnacknowledged = end != nil && !endCommitted
        guard oldestUnacknowledged.map({ now - $0 >= stallInterval }) ?? endUnacknowledged else { return [] }
        lastProgressAt = now
        stallResends += 1
        return everythingUnconfirmed(at: now)
    }

    /// The hello, definitions, summary values, unacknowledged records and end, in the order
    /// a collector must see them; the records count as sent at `now`.
    private mutating func everythingUnconfirmed(at now: Double) -> [[UInt8]] {
        var messages: [[UInt8]] = []
        if let hello { messages.append(hello) }
        messages += definitions.map(\.bytes)
        messages += summaries.map(\.bytes)
        for index in retainedHead..<retained.count {
            messages.append(retained[index].bytes)
            retained[index].sentAt = now
        }
        if let end, !(endCommitted && durableSequenceNumber >= end.lastSequenceNumber) { messages.append(end.bytes) }
        resent += Int64(messages.count)
        return messages
    }

    private mutating func compact() {
        if retainedHead >= 1_024 && retainedHead * 2 >= retained.count {
            retained.removeFirst(retainedHead)
            retainedHead = 0
        }
    }
}

/// What the collector tells an incarnation about its records: how far they are safe in the
/// store (`protocol.md`, section 8).
///
/// On the wire an acknowledgement is two frames on the collector's PUB socket: the topic
/// ``topic(for:)``, which a client subscribes to, and the JSON object ``encoded()`` writes.
public struct Acknowledgement: Sendable, Hashable {
    /// The incarnation acknowledged.
    public var sender: Sender
    /// Every `log` record numbered 1 through this is committed to the store; 0 for none.
    public var durableSequenceNumber: Int64
    /// Whether the incarnation's `end` is committed.
    public var ended: Bool
    /// The id the collector picked when it started; a new one means it restarted.
    public var collector: String

    /// Creates an acknowledgement.
    public init(sender: Sender, durableSequenceNumber: Int64, ended: Bool, collector: String) {
        self.sender = sender
        self.durableSequenceNumber = durableSequenceNumber
        self.ended = ended
        self.collector = collector
    }

    /// The topic of an incarnation's acknowledgements: `RUN/RANK/INC/`. Run and incarnation
    /// ids never hold a `/`, and the last one keeps one incarnation's topic from being a
    /// prefix of another's.
    public static func topic(for sender: Sender) -> String {
        "\(sender.run)/\(sender.rank)/\(sender.incarnation)/"
    }

    /// The acknowledgement endpoint that goes with a PULL endpoint: the next port for
    /// `tcp://HOST:PORT` (any port for `*`), `PATH.ack` for `ipc://PATH`; `nil` for others.
    public static func endpoint(pairedWith endpoint: String) -> String? {
        if endpoint.hasPrefix("ipc://") || endpoint.hasPrefix("inproc://") {
            return endpoint + ".ack"
        }
        guard endpoint.hasPrefix("tcp://"), let colon = endpoint.lastIndex(of: ":") else { return nil }
        let host = endpoint[..<colon]
        let port = endpoint[endpoint.index(after: colon)...]
        if port == "*" { return "\(host):*" }
        guard let number = Int(port), number < 65_535 else { return nil }
        return "\(host):\(number + 1)"
    }

    /// The JSON frame.
    public func encoded() -> [UInt8] {
        var writer = JSONWriter(capacity: 256)
        writer.beginObject()
        writer.appendKey("v")
        writer.appendInteger(WireMessage.protocolVersion)
        writer.appendKey("kind")
        writer.appendString("ack")
        writer.appendKey("run")
        writer.appendString(sender.run)
        writer.appendKey("rank")
        writer.appendInteger(Int64(sender.rank))
        writer.appendKey("inc")
        writer.appendString(sender.incarnation)
        writer.appendKey("durable_seq")
        writer.appendInteger(durableSequenceNumber)
        writer.appendKey("ended")
        writer.appendBool(ended)
        writer.appendKey("collector")
        writer.appendString(collector)
        writer.endObject()
        return writer.bytes
    }

    /// Reads the JSON frame of an acknowledgement; `nil` for anything else, so that a
    /// client ignores what it does not understand.
    public init?(decoding bytes: [UInt8]) {
        guard let document = try? JSONParser.parse(bytes),
            case .object(let object) = document,
            case .integer(WireMessage.protocolVersion)? = object["v"],
            case .string("ack")? = object["kind"],
            case .string(let run)? = object["run"],
            case .integer(let rank)? = object["rank"], let rank = Int32(exactly: rank),
            case .string(let incarnation)? = object["inc"],
            case .integer(let durable)? = object["durable_seq"], durable >= 0,
            case .bool(let ended)? = object["ended"],
            case .string(let collector)? = object["collector"]
        else { return nil }
        self.init(
            sender: Sender(run: run, rank: rank, incarnation: incarnation),
            durableSequenceNumber: durable,
            ended: ended,
            collector: collector
        )
    }
}

import Testing

@testable import ChorusCore

@Suite("WireEncoder: what it writes decodes back to the same message")
struct WireEncoderTests {
    static let sender = Sender(run: "job-42", rank: 7, incarnation: "5f0c1e9a")

    static let values: [MetricEntry] = [
        MetricEntry("loss", 0.3141592653589793),
        MetricEntry("train/acc", 0.9),
        MetricEntry("epoch", .integer(3)),
        MetricEntry("tokens", .integer(.max)),
        MetricEntry("debt", .integer(.min)),
        MetricEntry("whole", 2.0),
        MetricEntry("tiny", .double(.leastNonzeroMagnitude)),
        MetricEntry("huge", 1.7976931348623157e308),
        MetricEntry("nan", .double(.nan)),
        MetricEntry("inf", .double(.infinity)),
        MetricEntry("ninf", .double(-.infinity)),
        MetricEntry("phase", "warm \"up\" ü"),
        MetricEntry("ok", true),
        MetricEntry("none", .other("null")),
        MetricEntry("list", .other(#"[1,2.5,"x",null,NaN]"#)),
        MetricEntry("hist", .other(#"{"_type":"histogram","bins":[1,2],"values":[0.5,NaN]}"#)),
    ]

    static let messages: [WireMessage] = [
        .hello(
            Hello(
                sender: sender,
                worldSize: 8,
                attempt: 2,
                resumeStep: 1_200,
                startTime: 1_733_241_600.25,
                clientName: "chorus-swift",
                clientVersion: "0.1.0"
            )
        ),
        .hello(Hello(sender: sender, worldSize: 1_048_576, startTime: 0.1, clientName: "c", clientVersion: "1")),
        .log(
            LogRecord(
                sender: sender,
                attempt: 1,
                sequenceNumber: 17,
                step: 1_200,
                timestamp: 1_733_241_712.5,
                values: values
            )
        ),
        .log(LogRecord(sender: sender, sequenceNumber: .max, step: .max, timestamp: 0, values: [])),
        .heartbeat(Heartbeat(sender: sender, timestamp: 1_733_241_720, lastSequenceNumber: 17)),
        .heartbeat(Heartbeat(sender: sender, timestamp: 1e-3)),
        .end(End(sender: sender, timestamp: 1_733_242_000, lastSequenceNumber: 5_370)),
        .define(MetricDefinition(sender: sender, pattern: "val/*", reduce: .max, goal: .max)),
        .define(MetricDefinition(sender: sender, pattern: "loss")),
        .summary(
            UserSummary(sender: sender, values: [MetricEntry("best_acc", 0.93), MetricEntry("nan", .double(.nan))])),
    ]

    @Test("every kind of message survives encoding and decoding", arguments: messages)
    func roundTrip(message: WireMessage) throws {
        var encoder = WireEncoder()
        let bytes = encoder.encode(message)
        let decoded = try WireDecoder().decode(bytes)
        #expect(decoded.comparable == message.comparable, "\(String(decoding: bytes, as: UTF8.self))")
    }

    @Test(
        "a hello without a client name or version decodes back without them",
        arguments: [(nil, nil), ("chorus-python", nil), (nil, "0.1.0")] as [(String?, String?)]
    )
    func helloWithoutClient(name: String?, version: String?) throws {
        let hello = WireMessage.hello(
            Hello(sender: Self.sender, worldSize: 2, startTime: 5, clientName: name, clientVersion: version)
        )
        var encoder = WireEncoder()
        let bytes = encoder.encode(hello)
        #expect(try WireDecoder().decode(bytes) == hello, "\(String(decoding: bytes, as: UTF8.self))")
    }

    @Test("one encoder writes message after message, each complete")
    func reuse() throws {
        var encoder = WireEncoder()
        var decoded: [WireMessage] = []
        for message in Self.messages.reversed() {
            decoded.append(try WireDecoder().decode(encoder.encode(message)))
        }
        #expect(decoded.map(\.comparable) == Self.messages.reversed().map(\.comparable))
    }

    @Test("the encoding is what Python's json.dumps would write, NaN tokens included")
    func pythonText() {
        var encoder = WireEncoder()
        let record = LogRecord(
            sender: Self.sender,
            attempt: 0,
            sequenceNumber: 1,
            step: 3,
            timestamp: 1.5,
            values: [MetricEntry("a", .double(.nan)), MetricEntry("b", 1.0), MetricEntry("c", .integer(2))]
        )
        let text = String(decoding: encoder.encode(.log(record)), as: UTF8.self)
        #expect(text.contains(#""data":{"a":NaN,"b":1.0,"c":2}"#), "\(text)")
        #expect(text.hasPrefix(#"{"v":1,"kind":"log""#), "\(text)")
    }

    @Test("random values of every kind round-trip bit for bit")
    func randomValues() throws {
        var random = SeededGenerator(seed: 3)
        var encoder = WireEncoder()
        for round in 0..<200 {
            let values = (0..<8).map { index -> MetricEntry in
                let value: MetricValue
                switch Int.random(in: 0..<3, using: &random) {
                case 0: value = .integer(Int64(bitPattern: random.next()))
                case 1: value = .double(Double(bitPattern: random.next()))
                default: value = .other("[\(Int64(bitPattern: random.next())),\"s\(round)\"]")
                }
                return MetricEntry("k\(index)", value)
            }
            let message = WireMessage.log(
                LogRecord(sender: Self.sender, sequenceNumber: Int64(round + 1), step: 0, timestamp: 1, values: values)
            )
            let decoded = try WireDecoder().decode(encoder.encode(message))
            #expect(decoded.comparable == message.comparable)
        }
    }
}

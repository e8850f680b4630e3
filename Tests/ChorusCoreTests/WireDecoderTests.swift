import Testing

@testable import ChorusCore

@Suite("WireDecoder: every message kind, as protocol.md writes it")
struct WireDecoderTests {
    static let sender = Sender(run: "job-42", rank: 0, incarnation: "5f0c1e9a")
    static let header = #""v": 1, "run": "job-42", "rank": 0, "inc": "5f0c1e9a""#

    @Test("a hello decodes with its world size, attempt, resume step, start time and client")
    func hello() throws {
        let text = """
            {"v": 1, "kind": "hello", "run": "job-42", "rank": 0, "inc": "5f0c1e9a", "world_size": 2,
             "attempt": 0, "resume_step": null, "start_time": 1733241600.25,
             "client": {"name": "chorus-python", "version": "0.1.0"}}
            """
        let expected = Hello(
            sender: Self.sender,
            worldSize: 2,
            attempt: 0,
            resumeStep: nil,
            startTime: 1_733_241_600.25,
            clientName: "chorus-python",
            clientVersion: "0.1.0"
        )
        #expect(try decodeWire(text) == .hello(expected))
    }

    @Test("a hello's attempt defaults to 0, and a resume step and no client are fine")
    func helloDefaults() throws {
        let bare = #"{"v": 1, "kind": "hello", "run": "r", "rank": 3, "inc": "i", "world_size": 4, "start_time": 5}"#
        let expected = Hello(sender: Sender(run: "r", rank: 3, incarnation: "i"), worldSize: 4, startTime: 5)
        #expect(try decodeWire(bare) == .hello(expected))
        let resumed = """
            {"v": 1, "kind": "hello", "run": "r", "rank": 3, "inc": "i", "world_size": 4, "start_time": 5,
             "attempt": 2, "resume_step": 1200}
            """
        var restarted = expected
        restarted.attempt = 2
        restarted.resumeStep = 1_200
        #expect(try decodeWire(resumed) == .hello(restarted))
    }

    @Test("a log decodes with its nested data flattened with /")
    func log() throws {
        let text = """
            {"v": 1, "kind": "log", "run": "job-42", "rank": 0, "inc": "5f0c1e9a", "attempt": 0,
             "seq": 17, "step": 1200, "ts": 1733241712.5, "data": {"loss": 0.31, "train": {"acc": 0.9}}}
            """
        let expected = LogRecord(
            sender: Self.sender,
            attempt: 0,
            sequenceNumber: 17,
            step: 1_200,
            timestamp: 1_733_241_712.5,
            values: [MetricEntry("loss", 0.31), MetricEntry("train/acc", 0.9)]
        )
        #expect(try decodeWire(text) == .log(expected))
    }

    @Test("a log's values keep their kinds: integers, doubles, NaN tokens, and kept JSON text")
    func logValues() throws {
        let text = """
            {\(Self.header), "kind": "log", "seq": 1, "step": 0, "ts": 1.0,
             "data": {"loss": NaN, "grad": Infinity, "neg": -Infinity, "epoch": 3, "lr": 1e-05, "zero": -0.0,
              "phase": "warmup", "ok": true, "none": null, "list": [1, 2.5, "x"],
              "hist": {"_type": "histogram", "bins": [1, 2]}, "empty": {}}}
            """
        guard case .log(let record) = try decodeWire(text) else {
            Issue.record("not a log")
            return
        }
        #expect(record.attempt == nil)
        #expect(
            record.values.map(\.key) == [
                "loss", "grad", "neg", "epoch", "lr", "zero", "phase", "ok", "none", "list", "hist",
            ])
        let values = Dictionary(uniqueKeysWithValues: record.values.map { ($0.key, $0.value) })
        #expect(values["loss"]?.doubleValue?.isNaN == true)
        #expect(values["grad"] == .double(.infinity))
        #expect(values["neg"] == .double(-.infinity))
        #expect(values["epoch"] == .integer(3))
        #expect(values["lr"] == .double(0.00001))
        #expect(values["zero"]?.doubleValue?.sign == .minus)
        #expect(values["phase"] == .other(#""warmup""#))
        #expect(values["ok"] == .other("true"))
        #expect(values["none"] == .other("null"))
        #expect(values["list"] == .other(#"[1,2.5,"x"]"#))
        #expect(values["hist"] == .other(#"{"_type":"histogram","bins":[1,2]}"#))
    }

    @Test("an empty data object is a record with no values")
    func emptyData() throws {
        let message = try decodeWire(#"{\#(Self.header), "kind": "log", "seq": 2, "step": 9, "ts": 0, "data": {}}"#)
        guard case .log(let record) = message else {
            Issue.record("not a log")
            return
        }
        #expect(record.values.isEmpty)
        #expect(record.step == 9)
    }

    @Test(
        "integers keep 64 bits, and integers beyond them become the nearest double",
        arguments: [
            ("9223372036854775807", .integer(.max)),
            ("-9223372036854775808", .integer(.min)),
            ("9223372036854775808", .double(9_223_372_036_854_775_808)),
            ("-9223372036854775809", .double(-9_223_372_036_854_775_808)),
            ("18446744073709551616", .double(1.8446744073709552e19)),
            ("100000000000000000000000", .double(1e23)),
            ("1.0", .double(1)),
            ("1e2", .double(100)),
        ] as [(String, MetricValue)]
    )
    func bigIntegers(text: String, expected: MetricValue) throws {
        let message = try decodeWire(
            #"{\#(Self.header), "kind": "log", "seq": 1, "step": 0, "ts": 0, "data": {"x": \#(text)}}"#)
        guard case .log(let record) = message else {
            Issue.record("not a log")
            return
        }
        #expect(record.values == [MetricEntry("x", expected)])
    }

    @Test("a heartbeat decodes with and without last_seq")
    func heartbeat() throws {
        let text = """
            {"v": 1, "kind": "heartbeat", "run": "job-42", "rank": 0, "inc": "5f0c1e9a", "ts": 1733241720.0,
             "last_seq": 17}
            """
        #expect(
            try decodeWire(text)
                == .heartbeat(Heartbeat(sender: Self.sender, timestamp: 1_733_241_720, lastSequenceNumber: 17)))
        let bare = #"{\#(Self.header), "kind": "heartbeat", "ts": 2.5}"#
        #expect(try decodeWire(bare) == .heartbeat(Heartbeat(sender: Self.sender, timestamp: 2.5)))
    }

    @Test("an end decodes with its last sequence number")
    func end() throws {
        let text = """
            {"v": 1, "kind": "end", "run": "job-42", "rank": 0, "inc": "5f0c1e9a", "ts": 1733242000.0,
             "last_seq": 5370}
            """
        #expect(
            try decodeWire(text)
                == .end(End(sender: Self.sender, timestamp: 1_733_242_000, lastSequenceNumber: 5_370))
        )
    }

    @Test("a define decodes its pattern, reduction and goal; reduce defaults to mean")
    func define() throws {
        let text = """
            {"v": 1, "kind": "define", "run": "job-42", "rank": 0, "inc": "5f0c1e9a",
             "metric": "val/*", "reduce": "max", "goal": "max"}
            """
        let expected = MetricDefinition(sender: Self.sender, pattern: "val/*", reduce: .max, goal: .max)
        #expect(try decodeWire(text) == .define(expected))
        let bare = #"{\#(Self.header), "kind": "define", "metric": "loss", "goal": "min"}"#
        #expect(try decodeWire(bare) == .define(MetricDefinition(sender: Self.sender, pattern: "loss", goal: .min)))
    }

    @Test("a summary decodes its values")
    func summary() throws {
        let text = """
            {"v": 1, "kind": "summary", "run": "job-42", "rank": 0, "inc": "5f0c1e9a", "data": {"best_acc": 0.93}}
            """
        #expect(
            try decodeWire(text)
                == .summary(UserSummary(sender: Self.sender, values: [MetricEntry("best_acc", 0.93)]))
        )
    }

    @Test("unknown fields are ignored, and field order does not matter")
    func unknownFields() throws {
        let plain = #"{\#(Self.header), "kind": "log", "seq": 3, "step": 4, "ts": 5, "data": {"a": 1}}"#
        let extended = """
            {"data": {"a": 1}, "host": "gpu-1", "ts": 5, "extra": {"nested": [1, {"x": NaN}]}, "step": 4,
             "seq": 3, "inc": "5f0c1e9a", "rank": 0, "run": "job-42", "kind": "log", "future": null, "v": 1}
            """
        #expect(try decodeWire(extended) == decodeWire(plain))
    }
}

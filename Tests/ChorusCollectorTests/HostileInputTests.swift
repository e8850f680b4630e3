import ChorusClient
import ChorusCollector
import ChorusCore
import ChorusStore
import ChorusZMQ
import Foundation
import Synchronization
import Testing

/// Seeded random mutations of real messages, and valid messages with absurd values, sent
/// through the real socket into a live collector between the halves of a valid run: the
/// collector must take every one, never stop, and leave the valid run exactly as it was sent.
@Suite("Hostile input never stops the collector or changes what it accepted")
struct HostileInputTests {
    /// Valid messages of the run that must come through untouched.
    private static func validRun(steps: Range<Int64>) -> [[UInt8]] {
        var encoder = WireEncoder()
        let sender = Sender(run: "valid", rank: 0, incarnation: "valid0")
        var messages: [[UInt8]] = []
        if steps.lowerBound == 0 {
            messages.append(encoder.encode(.hello(Hello(sender: sender, worldSize: 1, startTime: 1_000))))
        }
        for step in steps {
            let values = [MetricEntry("loss", .double(1 / Double(step + 1))), MetricEntry("step", .integer(step))]
            let record = LogRecord(
                sender: sender, sequenceNumber: step + 1, step: step, timestamp: 2_000, values: values)
            messages.append(encoder.encode(.log(record)))
        }
        return messages
    }

    /// Messages to mutate: every kind, with NaN, nested data and text values.
    private static let seeds: [String] = [
        #"{"v": 1, "kind": "hello", "run": "fuzz", "rank": 1, "inc": "f1", "world_size": 4, "attempt": 0, "#
            + #""start_time": 5.5}"#,
        #"{"v": 1, "kind": "log", "run": "fuzz", "rank": 1, "inc": "f1", "attempt": 0, "seq": 3, "step": 12, "#
            + #""ts": 1.5, "data": {"loss": NaN, "train": {"acc": 0.5, "grad": [1, 2]}, "note": "x"}}"#,
        #"{"v": 1, "kind": "heartbeat", "run": "fuzz", "rank": 2, "inc": "f2", "ts": 2.0, "last_seq": 9}"#,
        #"{"v": 1, "kind": "end", "run": "fuzz", "rank": 1, "inc": "f1", "ts": 3.0, "last_seq": 3}"#,
        #"{"v": 1, "kind": "skip", "run": "fuzz", "rank": 1, "inc": "f1", "first": 2, "last": 9, "reason": "x"}"#,
        #"{"v": 1, "kind": "define", "run": "fuzz", "rank": 0, "inc": "f0", "metric": "train/*", "reduce": "max", "#
            + #""goal": "max"}"#,
        #"{"v": 1, "kind": "summary", "run": "fuzz", "rank": 0, "inc": "f0", "#
            + #""data": {"best": 0.9, "h": {"_type": "histogram"}}}"#,
    ]

    /// One seeded mutation of `bytes`: flips, cuts, insertions, splices and repeats.
    private static func mutate(_ bytes: [UInt8], using generator: inout SeededGenerator) -> [UInt8] {
        var result = bytes
        let interesting: [[UInt8]] = [
            Array("NaN".utf8), Array("-Infinity".utf8), Array("1e999".utf8), Array("9223372036854775808".utf8),
            Array("-1".utf8), Array("\"\\ud800\"".utf8), [0xFF, 0xFE], [0xC0, 0x80], Array("{".utf8), Array("]".utf8),
            Array(String(repeating: "[", count: 200).utf8), Array("null".utf8), Array("\"step\": 1".utf8),
        ]
        for _ in 0..<Int.random(in: 1...4, using: &generator) {
            guard !result.isEmpty else { break }
            let at = Int.random(in: 0..<result.count, using: &generator)
            switch Int.random(in: 0..<6, using: &generator) {
            case 0: result[at] ^= UInt8.random(in: 1...255, using: &generator)
            case 1: result.removeSubrange(at...)
            case 2: result.insert(contentsOf: interesting.randomElement(using: &generator)!, at: at)
            case 3: result.remove(at: at)
            case 4:
                let end = min(result.count, at + Int.random(in: 1...40, using: &generator))
                result.insert(contentsOf: result[at..<end], at: at)
            default:
                let other = Array(seeds.randomElement(using: &generator)!.utf8)
                result = Array(result[..<at]) + Array(other[min(at, other.count)...])
            }
        }
        return result
    }

    /// Valid messages with values at and past the edges the protocol allows.
    private static func absurd(using generator: inout SeededGenerator) -> [[UInt8]] {
        let steps: [Int64] = [0, 1, Int64.max, Int64.max - 1, 1 << 53, 1 << 62]
        let ranks: [Int64] = [0, 1, 3, 1_048_575]
        let sequenceNumbers: [Int64] = [1, 2, Int64.max, 1 << 40]
        return (0..<300).map { index in
            let step = steps.randomElement(using: &generator)!
            let rank = ranks.randomElement(using: &generator)!
            let seq = sequenceNumbers.randomElement(using: &generator)!
            let attempt = Int64.random(in: 0...3, using: &generator)
            let sender = #""run": "edge", "rank": \#(rank), "inc": "e\#(rank)a\#(attempt)""#
            let hello =
                #"{"v": 1, "kind": "hello", \#(sender), "world_size": 4, "attempt": \#(attempt), "#
                + #""resume_step": \#(step), "start_time": 1.0}"#
            let log =
                #"{"v": 1, "kind": "log", \#(sender), "attempt": \#(attempt), "seq": \#(seq), "step": \#(step), "#
                + #""ts": 1.0, "data": {"x": \#(seq), "y": -1e308, "z": 1e308}}"#
            let text = index % 7 == 0 ? hello : log
            return Array(text.utf8)
        }
    }

    private static func scratch(_ name: String) throws -> String {
        let directory = NSTemporaryDirectory() + "chorus-\(name)-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        return directory
    }

    /// A live collector on an ipc socket and a store in `directory`, quiet but for errors.
    private static func startCollector(
        in directory: String,
        _ configure: (inout CollectorConfiguration) -> Void
    ) throws -> Collector {
        var configuration = CollectorConfiguration(
            endpoints: ["ipc://\(directory)/collector.sock"],
            storePath: "\(directory)/store.sqlite"
        )
        configuration.logger = Logger(minimumLevel: .error)
        configure(&configuration)
        let collector = try Collector(configuration: configuration)
        try collector.start()
        return collector
    }

    @Test("thousands of mutated and absurd messages leave the collector running and the valid run intact")
    func hostileStream() throws {
        let directory = try Self.scratch("hostile")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let collector = try Self.startCollector(in: directory) { $0.merge.maxOpenSteps = 50 }
        defer {
            collector.stop()
            collector.waitUntilStopped(timeout: 60)
        }
        let context = try ZMQContext()
        let socket = try ZMQSocket(context, type: .push)
        try socket.connect(collector.boundEndpoints[0])

        var generator = SeededGenerator(seed: 0xBAD_1D3A)
        var messages = Self.validRun(steps: 0..<50)
        for _ in 0..<4_000 {
            messages.append(Self.mutate(Array(Self.seeds.randomElement(using: &generator)!.utf8), using: &generator))
        }
        messages += Self.absurd(using: &generator)
        messages += Self.validRun(steps: 50..<100)
        for message in messages {
            #expect(try socket.send(message))
        }
        #expect(try socket.send(Array("second frame".utf8), more: true))
        #expect(try socket.send(Array("of a multipart message".utf8)))

        #expect(collector.waitUntilHandled(Int64(messages.count + 1), timeout: 120))
        #expect(!collector.isStopped, "the collector stopped: \(collector.failure ?? "")")
        #expect(collector.counters.rejected > 1_000, "most mutations must be rejected, and counted")

        var rows: [HistoryRow] = []
        try StoreReader(path: "\(directory)/store.sqlite").forEachHistoryRow(run: "valid") { rows.append($0) }
        #expect(rows.map(\.step) == Array(0..<100))
        #expect(
            rows.allSatisfy {
                $0.values == [
                    MetricEntry("loss", .double(1 / Double($0.step + 1))), MetricEntry("step", .integer($0.step)),
                ]
            })
    }

    @Test("a sender flooding 512 KiB messages neither starves a well-behaved run nor stops the collector")
    func flood() throws {
        let directory = try Self.scratch("flood")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let collector = try Self.startCollector(in: directory) { $0.receiveHighWaterMark = 20 }
        defer {
            collector.stop()
            collector.waitUntilStopped(timeout: 60)
        }

        // A valid message of another run with a 512 KiB text value, over and over: every one
        // is decoded, merged into one row and written, which is as hard as a sender can work
        // the collector within the protocol.
        let padding = String(repeating: "x", count: 512 << 10)
        let flood = Array(
            (#"{"v": 1, "kind": "log", "run": "flood", "rank": 0, "inc": "f", "seq": 1, "step": 0, "ts": 1, "#
                + #""data": {"blob": ""# + padding + #""}}"#).utf8
        )
        let flooding = Atomic<Bool>(true)
        let floodSent = Atomic<Int>(0)
        let endpoint = collector.boundEndpoints[0]
        let flooder = Thread {
            guard let context = try? ZMQContext(), let socket = try? ZMQSocket(context, type: .push) else { return }
            try? socket.setSendHighWaterMark(20)
            try? socket.setSendTimeout(milliseconds: 100)
            try? socket.connect(endpoint)
            while flooding.load(ordering: .relaxed) {
                if (try? socket.send(flood)) == true { floodSent.add(1, ordering: .relaxed) }
            }
            try? socket.setLinger(milliseconds: 0)
        }
        flooder.start()
        defer { flooding.store(false, ordering: .relaxed) }
        while floodSent.load(ordering: .relaxed) < 50 { usleep(10_000) }

        // Acknowledged, so that finish() waits until the collector has committed everything:
        // ZeroMQ drops what a connection still held when its sender closes while the
        // collector's queue for it is full, and the client then sends it again.
        let run = try Run(runID: "steady", rank: 0, worldSize: 1, endpoint: endpoint)
        for step in Int64(0)..<300 {
            run.log(["loss": .double(1 / Double(step + 1))], step: step, commit: true)
        }
        // Once the collector has committed some of the run, its acknowledgements reach the
        // client within a second, however busy the machine: finish() then waits for all of it.
        func storedRows() throws -> Int64 {
            try StoreReader(path: "\(directory)/store.sqlite").runs().first { $0.name == "steady" }?.rows ?? 0
        }
        for _ in 0..<1_200 where try storedRows() == 0 { usleep(50_000) }
        #expect(run.finish(timeout: 60), "the collector must confirm the steady run while the flood goes on")
        var rows: Int64 = 0
        for _ in 0..<600 {
            collector.sync()
            rows = try storedRows()
            if rows == 300 { break }
            usleep(50_000)
        }
        let flooded = floodSent.load(ordering: .relaxed)
        flooding.store(false, ordering: .relaxed)
        #expect(rows == 300, "the steady run has \(rows) of its 300 rows after \(flooded) flood messages")
        #expect(flooded > 100, "the flood must really have gone on beside the steady run")
        #expect(!collector.isStopped, "the collector stopped: \(collector.failure ?? "")")
        print(
            "flood: \(flooded) messages of 512 KiB beside 300 steady records, all 300 stored, "
                + "\(run.resentMessages) sent again"
        )
    }
}

import ChorusClient
import ChorusCollector
import ChorusCore
import ChorusStore
import ChorusZMQ
import Foundation
import Testing

/// A record that never arrives must not hold back the acknowledgements of every record after
/// it: a client names the records it dropped in a `skip`, and the collector settles the
/// records it refuses, so that `durable_seq` passes over both (`protocol.md`, sections 3 and 8).
@Suite("A live collector settles skipped and refused records and acknowledges past them", .serialized)
struct SettledRecordsTests {
    private static func scratch(_ name: String) throws -> String {
        let directory = NSTemporaryDirectory() + "chorus-\(name)-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        return directory
    }

    private static func startCollector(in directory: String) throws -> Collector {
        var configuration = CollectorConfiguration(
            endpoints: ["ipc://\(directory)/collector.sock"],
            storePath: "\(directory)/store.sqlite"
        )
        configuration.logger = Logger(minimumLevel: .error)
        let collector = try Collector(configuration: configuration)
        try collector.start()
        return collector
    }

    /// The one incarnation of `run` as `chorus status` reads it.
    private static func incarnation(of run: String, in directory: String) throws -> IncarnationRecord? {
        try StoreReader(path: "\(directory)/store.sqlite").ranks(run: run).first?.incarnations.first
    }

    @Test("a skip and a refused record are settled: the acknowledgement reaches the last seq")
    func skippedAndRefused() throws {
        let directory = try Self.scratch("settled")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let collector = try Self.startCollector(in: directory)
        defer {
            collector.stop()
            collector.waitUntilStopped(timeout: 60)
        }
        let sender = Sender(run: "settled", rank: 0, incarnation: "s0")
        let context = try ZMQContext()
        let acknowledgements = try ZMQSocket(context, type: .sub)
        try acknowledgements.setReceiveTimeout(milliseconds: 500)
        try acknowledgements.subscribe(Acknowledgement.topic(for: sender))
        try acknowledgements.connect("ipc://\(directory)/collector.sock.ack")
        let socket = try ZMQSocket(context, type: .push)
        try socket.connect(collector.boundEndpoints[0])

        var encoder = WireEncoder()
        func record(_ seq: Int64) -> [UInt8] {
            encoder.encode(
                .log(
                    LogRecord(
                        sender: sender, sequenceNumber: seq, step: seq, timestamp: 1,
                        values: [MetricEntry("loss", .double(Double(seq)))])))
        }
        let tooLongKey = String(repeating: "k", count: 300)
        let refused =
            #"{"v": 1, "kind": "log", "run": "settled", "rank": 0, "inc": "s0", "seq": 2, "step": 2, "#
            + #""ts": 1, "data": {"\#(tooLongKey)": 1}}"#
        var messages = [encoder.encode(.hello(Hello(sender: sender, worldSize: 1, startTime: 1)))]
        messages += [record(1), Array(refused.utf8), record(3)]
        messages.append(
            encoder.encode(.skip(SkippedRecords(sender: sender, sequenceNumbers: 4...5, reason: "dropped"))))
        messages += [record(6), encoder.encode(.end(End(sender: sender, timestamp: 2, lastSequenceNumber: 6)))]
        for message in messages {
            #expect(try socket.send(message))
        }

        var last: Acknowledgement?
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline, !(last?.ended == true && last?.durableSequenceNumber == 6) {
            if let parts = try acknowledgements.receiveParts(), parts.count == 2 {
                last = Acknowledgement(decoding: parts[1]) ?? last
            }
        }
        #expect(last?.durableSequenceNumber == 6, "acknowledged \(String(describing: last))")
        #expect(last?.ended == true)

        collector.sync()
        let incarnation = try #require(try Self.incarnation(of: "settled", in: directory))
        #expect(incarnation.skipped == 3)
        #expect(incarnation.received == 3)
        #expect(incarnation.missing == 0 && incarnation.gaps.isEmpty)
        #expect(incarnation.durableSequenceNumber == 6)
        #expect(try StoreReader(path: "\(directory)/store.sqlite").run("settled").skipped == 3)
        var steps: [Int64] = []
        try StoreReader(path: "\(directory)/store.sqlite").forEachHistoryRow(run: "settled") { steps.append($0.step) }
        #expect(steps == [1, 3, 6])
    }

    @Test("records the Swift client drops from its full queue are sent as skipped, and the run is acknowledged")
    func clientDropsAreSkipped() throws {
        let directory = try Self.scratch("dropped")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // No collector yet: the sender thread holds the hello, the queue holds eight records,
        // and the last four are dropped, each after the second the queue waits for room.
        let run = try Run(
            runID: "dropped", rank: 0, worldSize: 1, endpoint: "ipc://\(directory)/collector.sock",
            queueCapacity: 8)
        for step in Int64(1)...12 {
            run.log(["loss": .double(Double(step))], step: step, commit: true)
        }
        #expect(run.droppedMessages == 4)
        let collector = try Self.startCollector(in: directory)
        defer {
            collector.stop()
            collector.waitUntilStopped(timeout: 60)
        }
        // Dropped records cannot be confirmed, so finish reports false, but without waiting
        // out its timeout for them: the collector acknowledged every sequence number.
        #expect(run.finish(timeout: 60) == false)
        collector.sync()
        let incarnation = try #require(try Self.incarnation(of: "dropped", in: directory))
        #expect(incarnation.skipped == 4)
        #expect(incarnation.received == 8)
        #expect(incarnation.missing == 0, "gaps \(incarnation.gaps)")
        #expect(incarnation.durableSequenceNumber == 12)
    }

    @Test("the Swift client sends no record the collector would refuse, but a skip, and the rest arrive")
    func clientSkipsWhatTheCollectorRefuses() throws {
        let directory = try Self.scratch("refusable")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let collector = try Self.startCollector(in: directory)
        defer {
            collector.stop()
            collector.waitUntilStopped(timeout: 60)
        }
        let run = try Run(runID: "refusable", rank: 0, worldSize: 1, endpoint: collector.boundEndpoints[0])
        let huge = MetricValue.other("\"" + String(repeating: "x", count: 1 << 20) + "\"")
        let longKey = String(repeating: "k", count: 300)
        run.log(["loss": 1.0], step: 0, commit: true)
        run.log(["loss": 2.0, "blob": huge], step: 1, commit: true)
        run.log(["loss": 3.0], step: 2, commit: true)
        run.log([longKey: 4.0], step: 3, commit: true)
        run.log(["loss": 5.0], step: 4, commit: true)
        #expect(run.droppedMessages == 2)
        // Over 1 MiB, ZeroMQ would have dropped the connection, and every resend again.
        #expect(run.finish(timeout: 60) == false, "two records were dropped")
        collector.sync()
        let incarnation = try #require(try Self.incarnation(of: "refusable", in: directory))
        #expect(incarnation.skipped == 2)
        #expect(incarnation.received == 3)
        #expect(incarnation.durableSequenceNumber == 5 && incarnation.ended)
        #expect(collector.counters.rejected == 0, "the client sent what the collector refuses")
        var steps: [Int64] = []
        try StoreReader(path: "\(directory)/store.sqlite").forEachHistoryRow(run: "refusable") { steps.append($0.step) }
        #expect(steps == [0, 2, 4])
    }
}

import ChorusCore
import ChorusZMQ
import Foundation
import Testing

@testable import ChorusClient

@Suite("The Swift client on a real socket")
struct RunTests {
    /// A PULL socket bound to a fresh ipc path, standing in for a collector.
    final class FakeCollector {
        let directory = NSTemporaryDirectory() + "chorus-client-\(UUID().uuidString.prefix(8))"
        let context: ZMQContext
        let socket: ZMQSocket
        var endpoint: String { "ipc://\(directory)/collector.sock" }

        init(bind: Bool = true) throws {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            context = try ZMQContext()
            socket = try ZMQSocket(context, type: .pull)
            try socket.setReceiveTimeout(milliseconds: 10_000)
            if bind { try socket.bind(endpoint) }
        }

        func bindNow() throws { try socket.bind(endpoint) }

        /// Receives until `end`, skipping heartbeats.
        func messagesUntilEnd() throws -> [WireMessage] {
            var messages: [WireMessage] = []
            while let bytes = try socket.receiveBytes() {
                let message = try WireDecoder().decode(bytes)
                if case .heartbeat = message { continue }
                messages.append(message)
                if case .end = message { break }
            }
            return messages
        }

        deinit { try? FileManager.default.removeItem(atPath: directory) }
    }

    @Test("a run sends its hello first, numbers records from 1, and ends with the last sequence number")
    func wireOrder() throws {
        let collector = try FakeCollector()
        let run = try Run(
            runID: "job-1", rank: 1, worldSize: 2, attempt: 3, endpoint: collector.endpoint, ackEndpoint: "none")
        run.log(["loss": 0.5], step: 1)
        run.log(["loss": .double(.nan), "acc": 1], step: 2)
        #expect(run.finish(timeout: 10))
        let messages = try collector.messagesUntilEnd()
        guard messages.count == 4, case .hello(let hello) = messages[0], case .log(let first) = messages[1],
            case .log(let second) = messages[2], case .end(let end) = messages[3]
        else {
            Issue.record("unexpected messages \(messages)")
            return
        }
        #expect(hello.worldSize == 2 && hello.attempt == 3 && hello.sender.rank == 1 && hello.sender.run == "job-1")
        #expect([first.sequenceNumber, second.sequenceNumber] == [1, 2])
        #expect([first.step, second.step] == [1, 2])
        #expect(first.attempt == 3)
        #expect(second.values.first { $0.key == "loss" }?.value.doubleValue?.isNaN == true)
        #expect(end.lastSequenceNumber == 2)
    }

    @Test("log returns at once while no collector listens, and finish gives up within its timeout")
    func noCollector() throws {
        let collector = try FakeCollector(bind: false)
        let run = try Run(runID: "job-2", endpoint: collector.endpoint, ackEndpoint: "none", queueCapacity: 10_000)
        let started = Date()
        for step in 0..<2_000 { run.log(["x": .integer(Int64(step))], step: Int64(step)) }
        let logging = Date().timeIntervalSince(started)
        #expect(logging < 5, "2,000 logs took \(logging) s with no collector")
        let finishing = Date()
        #expect(run.finish(timeout: 1) == false)
        #expect(Date().timeIntervalSince(finishing) < 5)
        // Everything undeliverable is dropped, and counted, by the time finish returns.
        #expect(run.droppedMessages >= 2_000, "only \(run.droppedMessages) dropped")
    }

    @Test("records logged before the collector binds all arrive once it does")
    func lateCollector() throws {
        let collector = try FakeCollector(bind: false)
        let run = try Run(runID: "job-3", endpoint: collector.endpoint, ackEndpoint: "none")
        for step in 0..<100 { run.log(["x": .integer(Int64(step))], step: Int64(step)) }
        try collector.bindNow()
        #expect(run.finish(timeout: 10))
        let records = try collector.messagesUntilEnd().filter { if case .log = $0 { true } else { false } }
        #expect(records.count == 100)
    }

    @Test("settings come from the environment as torchrun and SLURM set it")
    func environmentDefaults() {
        let settings = Run.Settings.fromEnvironment([
            "RANK": "3", "WORLD_SIZE": "8", "TORCHELASTIC_RESTART_COUNT": "2", "TORCHELASTIC_RUN_ID": "tr-1",
            "SLURM_JOB_ID": "999", "CHORUS_ENDPOINT": "ipc:///tmp/x.sock",
        ])
        #expect(settings.rank == 3 && settings.worldSize == 8 && settings.attempt == 2)
        #expect(settings.runID == "tr-1" && settings.endpoint == "ipc:///tmp/x.sock")
        #expect(Run.Settings.fromEnvironment(["SLURM_JOB_ID": "999"]).runID == "999")
        #expect(Run.Settings.fromEnvironment([:]).runID == "default")
    }

    @Test("settings that break the protocol are refused with a message naming them")
    func invalidSettings() {
        #expect(throws: ChorusClientError.self) { try Run(runID: "bad id!", endpoint: "ipc:///tmp/none.sock") }
        #expect(throws: ChorusClientError.self) { try Run(runID: "ok", worldSize: 0, endpoint: "ipc:///tmp/none.sock") }
        #expect(throws: ChorusClientError.self) { try Run(runID: "ok", rank: -1, endpoint: "ipc:///tmp/none.sock") }
    }
}

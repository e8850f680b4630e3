import ChorusClient
import ChorusCollector
import ChorusCore
import ChorusStore
import ChorusZMQ
import Foundation

/// Plays a scenario through the real protocol into a real collector: one PUSH socket for
/// the case's wire messages (so they arrive in the order written), the Swift client for
/// its `log` calls, and `chorus replay` processes for cases that ask for real processes.
final class ScenarioRunner {
    static let runID = "case"

    let scenario: ScenarioCase
    let directory: String
    let collector: Collector
    private let context: ZMQContext
    private let socket: ZMQSocket
    private var encoder = JSONWriter()
    /// Messages sent that the collector will take, at the least.
    private var sent: Int64 = 0
    private var lastSequence: [String: Int64] = [:]
    private var clients: [Int32: Run] = [:]
    private var processLines: [Int32: [String]] = [:]

    init(_ scenario: ScenarioCase) throws {
        self.scenario = scenario
        directory = NSTemporaryDirectory() + "chorus-case-\(scenario.id)-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var configuration = CollectorConfiguration(
            endpoints: ["ipc://\(directory)/collector.sock"],
            storePath: "\(directory)/store.sqlite"
        )
        configuration.merge.maxOpenSteps = scenario.maxOpenSteps ?? 1_000
        configuration.merge.rankTimeout = scenario.rankTimeout ?? 600
        configuration.tickInterval = 0.05
        configuration.commitInterval = 0.02
        configuration.logger = Logger(minimumLevel: .error)
        collector = try Collector(configuration: configuration)
        try collector.start()
        context = try ZMQContext()
        socket = try ZMQSocket(context, type: .push)
        try socket.setSendHighWaterMark(0)
        try socket.connect(collector.boundEndpoints[0])
    }

    deinit {
        collector.stop()
        collector.waitUntilStopped(timeout: 60)
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Sends `entries`; at each check, waits for the collector and compares.
    /// - Returns: the differences found at check points, each naming its check.
    func play(_ entries: [ScenarioCase.Entry], verifyChecks: Bool = true) throws -> [String] {
        for (rank, attempt) in scenario.incarnations {
            try sendHello(rank: rank, attempt: attempt)
        }
        var differences: [String] = []
        var checks = 0
        for entry in entries {
            switch entry {
            case .message(let message):
                try send(message)
            case .log(let rank, let data, let step, let commit):
                let entries = try flattenMetrics(data, limits: FlattenLimits()).map {
                    MetricEntry($0.key, MetricValue(json: $0.value))
                }
                try client(rank).log(entries, step: step, commit: commit)
            case .end(let rank):
                try end(rank)
            case .vanish, .exit:
                break
            case .check(let expect):
                checks += 1
                guard verifyChecks else { continue }
                try settle()
                differences += ScenarioExpectation.differences(expect, in: try snapshot()).map {
                    "at check \(checks): \($0)"
                }
            }
        }
        try runProcesses()
        return differences
    }

    /// Waits until the collector has taken and committed everything sent.
    func settle() throws {
        guard collector.waitUntilHandled(sent, timeout: 120) else {
            throw ScenarioError("the collector took \(collector.counters.messages) of \(sent) messages in 120 s")
        }
    }

    /// What the store holds for the case's run now.
    func snapshot() throws -> ScenarioSnapshot {
        try ScenarioSnapshot(reader: StoreReader(path: "\(directory)/store.sqlite"), run: Self.runID)
    }

    private func incarnation(rank: Int32, attempt: Int64) -> String { "r\(rank)a\(attempt)" }

    private func sendHello(rank: Int32, attempt: Int64) throws {
        encoder.reset()
        encoder.beginObject()
        header("hello", rank: rank, attempt: attempt)
        encoder.appendKey("world_size")
        encoder.appendInteger(Int64(scenario.worldSize))
        encoder.appendKey("attempt")
        encoder.appendInteger(attempt)
        encoder.appendKey("start_time")
        encoder.appendDouble(1_000 + Double(attempt))
        encoder.endObject()
        try transmit()
    }

    private func send(_ message: ScenarioCase.WireInput) throws {
        if scenario.usesProcesses {
            var line = JSONWriter()
            line.append(.object(["step": .integer(message.step), "data": message.data]))
            processLines[message.rank, default: []].append(String(decoding: line.bytes, as: UTF8.self))
            return
        }
        let id = incarnation(rank: message.rank, attempt: message.attempt)
        lastSequence[id] = max(lastSequence[id] ?? 0, message.sequenceNumber)
        encoder.reset()
        encoder.beginObject()
        header("log", rank: message.rank, attempt: message.attempt)
        encoder.appendKey("attempt")
        encoder.appendInteger(message.attempt)
        encoder.appendKey("seq")
        encoder.appendInteger(message.sequenceNumber)
        encoder.appendKey("step")
        encoder.appendInteger(message.step)
        encoder.appendKey("ts")
        encoder.appendDouble(message.timestamp ?? 2_000 + Double(message.step))
        encoder.appendKey("data")
        encoder.append(message.data)
        encoder.endObject()
        try transmit()
    }

    private func end(_ rank: Int32) throws {
        if let run = clients[rank] {
            guard run.finish(timeout: 30) else { throw ScenarioError("rank \(rank)'s client could not finish") }
            sent += 2 + run.recordsSent
        }
        for (incarnationRank, attempt) in scenario.incarnations where incarnationRank == rank {
            let id = incarnation(rank: rank, attempt: attempt)
            encoder.reset()
            encoder.beginObject()
            header("end", rank: rank, attempt: attempt)
            encoder.appendKey("last_seq")
            encoder.appendInteger(lastSequence[id] ?? 0)
            encoder.endObject()
            try transmit()
        }
    }

    private func header(_ kind: String, rank: Int32, attempt: Int64) {
        encoder.appendKey("v")
        encoder.appendInteger(1)
        encoder.appendKey("kind")
        encoder.appendString(kind)
        encoder.appendKey("run")
        encoder.appendString(Self.runID)
        encoder.appendKey("rank")
        encoder.appendInteger(Int64(rank))
        encoder.appendKey("inc")
        encoder.appendString(incarnation(rank: rank, attempt: attempt))
    }

    private func transmit() throws {
        guard !scenario.usesProcesses else { return }
        guard try socket.send(encoder.bytes) else { throw ScenarioError("the collector's socket took no message") }
        sent += 1
    }

    private func client(_ rank: Int32) throws -> Run {
        if let run = clients[rank] { return run }
        let run = try Run(
            runID: Self.runID,
            rank: rank,
            worldSize: scenario.worldSize,
            attempt: 0,
            endpoint: collector.boundEndpoints[0]
        )
        clients[rank] = run
        return run
    }

    /// Replays each rank's messages in a `chorus replay` process of its own, which exits as
    /// soon as it has finished.
    private func runProcesses() throws {
        guard scenario.usesProcesses else { return }
        for (rank, lines) in processLines.sorted(by: { $0.key < $1.key }) {
            let file = "\(directory)/rank\(rank).jsonl"
            try (lines.joined(separator: "\n") + "\n").write(toFile: file, atomically: true, encoding: .utf8)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: try ChorusBinary.path())
            process.arguments = [
                "replay", "--endpoint", collector.boundEndpoints[0], "--run", Self.runID,
                "--world-size", String(scenario.worldSize), "--rank", String(rank), file,
            ]
            process.standardOutput = FileHandle.nullDevice
            try process.run()
            process.waitUntilExit()
            guard process.terminationStatus == 0 else {
                throw ScenarioError("chorus replay for rank \(rank) exited \(process.terminationStatus)")
            }
            sent += 2 + Int64(lines.count)
        }
    }
}

/// The `chorus` executable the package built, beside this test bundle.
enum ChorusBinary {
    static func path() throws -> String {
        var tried: [String] = []
        if let given = ProcessInfo.processInfo.environment["CHORUS_BIN"] { tried.append(given) }
        let executable =
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
            ?? CommandLine.arguments[0]
        var directory = URL(fileURLWithPath: executable).deletingLastPathComponent()
        for _ in 0..<4 {
            tried.append(directory.appendingPathComponent("chorus").path)
            directory.deleteLastPathComponent()
        }
        guard let found = tried.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw ScenarioError(
                "no chorus executable (run `swift build` first); tried \(tried.joined(separator: ", "))")
        }
        return found
    }
}

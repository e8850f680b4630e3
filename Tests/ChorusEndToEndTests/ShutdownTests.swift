import ChorusCore
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The two signals `chorus collect` stops cleanly on.
enum StopSignal: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case sigterm = "SIGTERM"
    case sigint = "SIGINT"

    var number: Int32 { self == .sigterm ? SIGTERM : SIGINT }
    var testDescription: String { rawValue }
}

/// Stopping the collector while a worker is still sending, and workers that exit right away.
@Suite("shutdown and short-lived workers")
struct ShutdownTests {
    /// 10,000 steps × 2 ranks; each value says which (step, rank) it belongs to.
    static func burstLog() -> RankLog {
        var lines: [RankLog.Line] = []
        for step in 0..<10_000 {
            for rank in 0..<2 {
                let values: [String: JSONValue] = [
                    "id": .integer(Int64(step * 10 + rank)), "loss": .double(Double(step) / 8 + Double(rank)),
                    "opt/lr": .double(1e-4 * Double(10_000 - step)),
                ]
                lines.append(RankLog.Line(rank: rank, step: Int64(step), time: 1.7e9 + Double(step), values: values))
            }
        }
        return RankLog(lines: lines)
    }

    @Test("a signal during a burst still stores everything received, intact", arguments: StopSignal.allCases)
    func signalDuringBurst(signal: StopSignal) throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let run = "burst-\(signal.rawValue.lowercased())"
        let log = Self.burstLog()
        let files = try log.write(to: scratch)
        let collector = try CollectorUnderTest(.ipc, in: scratch)
        defer { collector.kill() }
        // Paced to outlast the collector's drain after the signal: 20,000 lines at 2 × 400 per second.
        let sender = try ChorusProcess(
            chorus: ["replay", "--endpoint", collector.endpoint, "--run", run, "--rate", "400"] + files,
            in: scratch
        )
        defer { sender.kill() }
        try collector.waitForStatus(run: run, "the first records") { $0["records"] > 0 }
        try #require(sender.isRunning, "the replay finished before the signal; the burst was too short to test")

        let exitStatus = try collector.stop(signal.number)
        #expect(exitStatus == 0, "exit \(exitStatus) on \(signal):\n\(collector.process.standardError)")
        sender.kill()

        let status = try #require(try collector.status(run: run))
        let history = try collector.exportLines(run: run, table: "history")
        #expect(status["records"] > 0 && status["records"] == history.count, "records vs rows:\n\(status.text)")
        #expect(status["rows"] == history.count && status["open"] == 0, "\(status.text)")
        let expected = Dictionary(uniqueKeysWithValues: log.lines.map { ("\($0.step)/\($0.rank)", $0.values) })
        var previous: (Int64, Int64)?
        var problems: [String] = []
        for row in history {
            let step = try #require(row["_step"]?.integerValue)
            let rank = try #require(row["_rank"]?.integerValue)
            if let previous, !(previous < (step, rank)) { problems.append("(\(step), \(rank)) after \(previous)") }
            if ExportReading.metrics(row) != expected["\(step)/\(rank)"] {
                problems.append("(\(step), \(rank)) holds \(ExportReading.metrics(row))")
            }
            previous = (step, rank)
        }
        #expect(problems.isEmpty, "\(problems.count) rows out of order or not intact, first: \(problems.first ?? "")")
        let steps = try collector.exportLines(run: run, table: "steps")
        let distinct = Set(history.compactMap { $0["_step"]?.integerValue })
        let completed = Set(steps.compactMap { $0["_step"]?.integerValue })
        let incomplete = distinct.subtracting(completed)
        #expect(incomplete.isEmpty, "\(incomplete.count) steps never completed, e.g. \(incomplete.min() ?? -1)")
        #expect(completed.isSubset(of: distinct), "\(completed.subtracting(distinct).count) steps have no row")
    }

    @Test("a worker that exits right after its last line loses nothing and ends finished")
    func workerExitingAtOnce() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let run = "short-lived"
        let lines = (0..<100).map { step in
            RankLog.Line(rank: 0, step: Int64(step), time: 1.7e9 + Double(step),
                         values: ["loss": .double(1 / Double(step + 1)), "n": .integer(Int64(step))])
        }
        let log = RankLog(lines: lines)
        let file = try log.write(to: scratch)[0]
        let collector = try CollectorUnderTest(.ipc, in: scratch)
        defer { collector.kill() }

        let worker = try ChorusProcess(
            chorus: ["replay", "--endpoint", collector.endpoint, "--run", run, "--world-size", "1", file],
            in: scratch
        )
        defer { worker.kill() }
        #expect(try worker.wait(timeout: 120) == 0, "the replay must exit 0:\n\(worker.standardError)")

        let live = try collector.waitForStatus(run: run, "100 rows from the exited worker") {
            $0["rows"] == 100 && $0.rankStates[0] == "finished"
        }
        #expect(live.finished && live["records"] == 100 && live["steps complete"] == 100, "\(live.text)")
        #expect(try collector.stop() == 0)
        let history = try collector.exportLines(run: run, table: "history")
        #expect(firstMismatch(history.map { $0["_step"]?.integerValue }, (0..<100).map { Int64($0) }) == nil)
        #expect(firstMismatch(history.map(ExportReading.metrics), log.history.map(\.values)) == nil)
    }
}

import ChorusCore
import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A live `chorus collect` fed by two real `chorus replay` processes, one per rank, as the
/// demo does; then every table exported in every format and checked against what the test
/// worked out from the rank files alone.
@Suite("collect and replay over real sockets")
struct CollectReplayTests {
    static let run = "e2e-two-ranks"

    /// 200 steps × 2 ranks: a double key with a NaN on rank 1, an integer key whose sum at one
    /// step overflows 64 bits, a key only rank 0 logs, and a string only rank 0 logs.
    static func twoRankLog() -> RankLog {
        var lines: [RankLog.Line] = []
        for index in 0..<200 {
            for rank in 0..<2 {
                var values: [String: JSONValue] = [
                    "loss": .double(index == 57 && rank == 1 ? .nan : 2.0 / Double(index + 1) + 0.001 * Double(rank)),
                    "tokens": .integer(index == 100 ? (1 << 62) + Int64(rank) : 1_000 * Int64(index) + Int64(rank)),
                ]
                if rank == 0 && index % 20 == 0 { values["val/acc"] = .double(0.5 + Double(index) / 1_000) }
                if rank == 0 && index % 50 == 0 { values["phase"] = .string(index < 100 ? "warmup" : "train") }
                lines.append(
                    RankLog.Line(
                        rank: rank, step: Int64(index * 10), time: 1.7e9 + Double(index) * 1.5,
                        values: values))
            }
        }
        return RankLog(lines: lines)
    }

    @Test(
        "two replay processes merge into the exact history, reductions and summary",
        arguments: Transport.allCases
    )
    func twoRanksMerge(transport: Transport) throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let log = Self.twoRankLog()
        let files = try log.write(to: scratch)
        let collector = try CollectorUnderTest(transport, in: scratch)
        defer { collector.kill() }
        let workers = try files.enumerated().map { rank, file in
            try ChorusProcess(
                chorus: [
                    "replay", "--endpoint", collector.endpoint, "--run", Self.run, "--world-size", "2",
                    "--rank", String(rank), file,
                ],
                in: scratch
            )
        }
        defer { workers.forEach { $0.kill() } }
        for worker in workers {
            let status = try worker.wait(timeout: 120)
            #expect(status == 0, "`\(worker.commandLine)` exited \(status):\n\(worker.standardError)")
        }
        try collector.waitForStatus(run: Self.run, "all 400 records and a finished run") {
            $0["records"] == 400 && $0.finished
        }
        #expect(try collector.stop(SIGTERM) == 0, "the collector must exit 0 on SIGTERM")

        let status = try #require(try collector.status(run: Self.run))
        #expect(status["rows"] == 400 && status["duplicates"] == 0 && status["rejected"] == 0, "\(status.text)")
        #expect(status.rankStates == [0: "finished", 1: "finished"], "\(status.text)")
        try RunExportCheck(collector: collector, run: Self.run, log: log).all()
    }
}

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
                lines.append(RankLog.Line(rank: rank, step: Int64(index * 10), time: 1.7e9 + Double(index) * 1.5,
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
                chorus: ["replay", "--endpoint", collector.endpoint, "--run", Self.run, "--world-size", "2",
                         "--rank", String(rank), file],
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
        try checkHistory(collector, log)
        try checkSteps(collector, log)
        try checkSummary(collector, log)
    }

    private func checkHistory(_ collector: CollectorUnderTest, _ log: RankLog) throws {
        let jsonl = try collector.exportLines(run: Self.run, table: "history")
        let expected = log.history
        try #require(jsonl.count == expected.count, "history has \(jsonl.count) rows, expected \(expected.count)")
        for (row, line) in zip(jsonl, expected) {
            let place = "history row (\(line.step), \(line.rank))"
            #expect(row["_step"] == .integer(line.step), "\(place) order")
            #expect(row["_rank"] == .integer(Int64(line.rank)), "\(place) order")
            #expect(Numbers.agree(row["_timestamp"], .double(line.time), tolerance: 0), "\(place) _timestamp")
            #expect(Numbers.agree(row["_runtime"], .double(line.time - 1.7e9), tolerance: 0), "\(place) _runtime")
            #expect(ExportReading.metrics(row) == line.values, "\(place): \(ExportReading.metrics(row))")
        }
        let json = try ExportReading.array(
            try collector.export(run: Self.run, table: "history", format: "json"), "history.json"
        )
        #expect(firstMismatch(json, jsonl) == nil, "history as JSON differs from history as JSONL")

        let csv = ExportReading.csv(try collector.export(run: Self.run, table: "history", format: "csv"))
        let header = try #require(csv.first)
        #expect(Array(header.prefix(4)) == ["_step", "_rank", "_timestamp", "_runtime"])
        let keys = Set(log.lines.flatMap(\.values.keys))
        #expect(Set(header.dropFirst(4)) == keys, "history CSV columns: \(header)")
        try #require(csv.count == jsonl.count + 1, "history CSV has \(csv.count - 1) rows, expected \(jsonl.count)")
        for (fields, row) in zip(csv.dropFirst(), jsonl) {
            try #require(fields.count == header.count, "history CSV row \(fields) has the wrong field count")
            let place = "history CSV row \(fields.prefix(2))"
            for (name, text) in zip(header, fields) {
                let value = text.isEmpty ? nil : try ExportReading.document(text, "\(place) field \(name)")
                #expect(Numbers.agree(value, row[name], tolerance: 0), "\(place) \(name): \(text)")
            }
        }
    }

    private func checkSteps(_ collector: CollectorUnderTest, _ log: RankLog) throws {
        let jsonl = try collector.exportLines(run: Self.run, table: "steps")
        let steps = Array(Set(log.lines.map(\.step))).sorted()
        try #require(jsonl.map { $0["_step"]?.integerValue } == steps, "steps rows are not one per step, in order")
        for (row, step) in zip(jsonl, steps) {
            #expect(row["missing"] == [] && row["forced"] == false, "step \(step): \(row)")
            let reduced = row.compactMapValues { $0.objectValue.map(ExportReading.dictionary) }
            let expected = Dictionary(uniqueKeysWithValues: log.numericKeys.compactMap { key in
                log.reduction(step: step, key: key).map { (key, $0) }
            })
            #expect(Set(reduced.keys) == Set(expected.keys), "step \(step) reduces \(reduced.keys.sorted())")
            for (key, fields) in expected {
                // Exact: every expected field is an exact operation on at most two values.
                #expect(reduced[key] == fields, "step \(step) key \(key): got \(reduced[key] ?? [:])")
            }
        }
        let json = try ExportReading.array(
            try collector.export(run: Self.run, table: "steps", format: "json"), "steps.json"
        )
        #expect(firstMismatch(json, jsonl) == nil, "steps as JSON differs from steps as JSONL")

        let csv = ExportReading.csv(try collector.export(run: Self.run, table: "steps", format: "csv"))
        #expect(csv.first == ["_step", "key", "count", "nonfinite", "sum", "mean", "min", "min_rank", "max",
                              "max_rank", "missing", "forced"])
        let expectedLines = jsonl.reduce(0) { $0 + $1.values.filter { $0.objectValue != nil }.count }
        try #require(csv.count == expectedLines + 1, "steps CSV has \(csv.count - 1) lines, expected \(expectedLines)")
        for fields in csv.dropFirst() {
            let step = try #require(Int64(fields[0]))
            let fromJSONL = try #require(jsonl.first { $0["_step"] == .integer(step) }?[fields[1]]?.objectValue)
            let want = ExportReading.dictionary(fromJSONL)
            for (name, text) in zip(csv[0][2...9], fields[2...9]) {
                let value = text.isEmpty ? JSONValue.null : try ExportReading.document(text, "steps CSV \(name)")
                let place = "steps CSV \(step) \(fields[1]) \(name)"
                #expect(Numbers.agree(value, want[name], tolerance: 0), "\(place): \(text)")
            }
        }
    }

    private func checkSummary(_ collector: CollectorUnderTest, _ log: RankLog) throws {
        let summary = try ExportReading.object(try collector.export(run: Self.run, table: "summary", format: "json"),
                                               "summary")
        let fields = ["first", "first_step", "last", "last_step", "min", "min_step", "max", "max_step", "count",
                      "nonfinite", "mean"]
        for key in log.numericKeys {
            let actual = try #require(summary[key]?.objectValue.map(ExportReading.dictionary), "summary lacks \(key)")
            let difference = Numbers.firstDifference(
                actual, log.summary(key: key), fields: fields, tolerance: 1e-12, at: "summary \(key)"
            )
            #expect(difference == nil, "\(difference ?? "")")
        }
        let phase = summary["phase"]?.objectValue.map(ExportReading.dictionary)
        #expect(phase?["value"] == .string("train"), "a string key keeps its value at the highest (step, rank)")
        let jsonl = try collector.export(run: Self.run, table: "summary", format: "jsonl")
        #expect(try ExportReading.object(jsonl, "summary as JSONL") == summary)

        let csv = ExportReading.csv(try collector.export(run: Self.run, table: "summary", format: "csv"))
        let header = try #require(csv.first)
        #expect(header == ["key", "first", "first_step", "last", "last_step", "min", "min_step", "max", "max_step",
                           "best", "mean", "count", "nonfinite", "value"])
        for fields in csv.dropFirst() where log.numericKeys.contains(fields[0]) {
            let want = try #require(summary[fields[0]]?.objectValue.map(ExportReading.dictionary))
            for (name, text) in zip(header, fields).dropFirst() where name != "best" && name != "value" {
                let value = try ExportReading.document(text, "summary CSV \(fields[0]) \(name)")
                let place = "summary CSV \(fields[0]) \(name)"
                #expect(Numbers.agree(value, want[name], tolerance: 0), "\(place): \(text)")
            }
        }
        #expect(Set(csv.dropFirst().map { $0[0] }) == Set(summary.keys.filter { !$0.hasPrefix("_") }))
    }
}

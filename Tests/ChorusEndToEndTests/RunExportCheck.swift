import ChorusCore
import Foundation
import Testing

/// Checks that a run's history, step reductions and summary, as `chorus export` writes them
/// in every format from a collector's store, equal what the run's rank log implies: the
/// result of the same run without any fault.
struct RunExportCheck {
    /// The collector whose store is read (it may have stopped).
    let collector: CollectorUnderTest
    /// The run.
    let run: String
    /// What the ranks logged.
    let log: RankLog

    /// Checks the history, the steps and the summary.
    func all() throws {
        try history()
        try steps()
        try summary()
    }

    /// One history row per (step, rank) in that order, with the logged values and times.
    func history() throws {
        let jsonl = try collector.exportLines(run: run, table: "history")
        let expected = log.history
        try #require(jsonl.count == expected.count, "history has \(jsonl.count) rows, expected \(expected.count)")
        let starts = Dictionary(uniqueKeysWithValues: log.ranks.map { ($0, log.startTime(rank: $0)) })
        for (row, line) in zip(jsonl, expected) {
            let place = "history row (\(line.step), \(line.rank))"
            #expect(row["_step"] == .integer(line.step), "\(place) order")
            #expect(row["_rank"] == .integer(Int64(line.rank)), "\(place) order")
            #expect(Numbers.agree(row["_timestamp"], .double(line.time), tolerance: 0), "\(place) _timestamp")
            #expect(
                Numbers.agree(row["_runtime"], .double(line.time - starts[line.rank]!), tolerance: 0),
                "\(place) _runtime")
            #expect(ExportReading.metrics(row) == line.values, "\(place): \(ExportReading.metrics(row))")
        }
        let json = try ExportReading.array(
            try collector.export(run: run, table: "history", format: "json"), "history.json")
        #expect(firstMismatch(json, jsonl) == nil, "history as JSON differs from history as JSONL")

        let csv = ExportReading.csv(try collector.export(run: run, table: "history", format: "csv"))
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

    /// One complete step per logged step, each with the exact reduction of every numeric key.
    func steps() throws {
        let jsonl = try collector.exportLines(run: run, table: "steps")
        let steps = Array(Set(log.lines.map(\.step))).sorted()
        try #require(jsonl.map { $0["_step"]?.integerValue } == steps, "steps rows are not one per step, in order")
        let byStep = log.linesByStep
        for (row, step) in zip(jsonl, steps) {
            #expect(row["missing"] == [] && row["forced"] == false, "step \(step): \(row)")
            let reduced = row.compactMapValues { $0.objectValue.map(ExportReading.dictionary) }
            let expected = Dictionary(
                uniqueKeysWithValues: log.numericKeys.compactMap { key in
                    RankLog.reduction(of: byStep[step] ?? [], key: key).map { (key, $0) }
                }
            )
            #expect(Set(reduced.keys) == Set(expected.keys), "step \(step) reduces \(reduced.keys.sorted())")
            for (key, fields) in expected {
                // Exact: every expected field is an exact operation on at most two values.
                #expect(reduced[key] == fields, "step \(step) key \(key): got \(reduced[key] ?? [:])")
            }
        }
        let json = try ExportReading.array(try collector.export(run: run, table: "steps", format: "json"), "steps.json")
        #expect(firstMismatch(json, jsonl) == nil, "steps as JSON differs from steps as JSONL")

        let csv = ExportReading.csv(try collector.export(run: run, table: "steps", format: "csv"))
        #expect(
            csv.first == [
                "_step", "key", "count", "nonfinite", "sum", "mean", "min", "min_rank", "max", "max_rank", "missing",
                "forced",
            ]
        )
        let expectedLines = jsonl.reduce(0) { $0 + $1.values.filter { $0.objectValue != nil }.count }
        try #require(csv.count == expectedLines + 1, "steps CSV has \(csv.count - 1) lines, expected \(expectedLines)")
        let rowsByStep = Dictionary(
            jsonl.map { ($0["_step"]?.integerValue, $0) }, uniquingKeysWith: { first, _ in first })
        for fields in csv.dropFirst() {
            let step = try #require(Int64(fields[0]))
            let fromJSONL = try #require(rowsByStep[step]?[fields[1]]?.objectValue)
            let want = ExportReading.dictionary(fromJSONL)
            for (name, text) in zip(csv[0][2...9], fields[2...9]) {
                let value = text.isEmpty ? JSONValue.null : try ExportReading.document(text, "steps CSV \(name)")
                let place = "steps CSV \(step) \(fields[1]) \(name)"
                #expect(Numbers.agree(value, want[name], tolerance: 0), "\(place): \(text)")
            }
        }
    }

    /// Every numeric key's summary from its headline series and raw values; every text key
    /// keeps its value at the highest (step, rank).
    func summary() throws {
        let summary = try ExportReading.object(
            try collector.export(run: run, table: "summary", format: "json"),
            "summary"
        )
        let fields = [
            "first", "first_step", "last", "last_step", "min", "min_step", "max", "max_step", "count", "nonfinite",
            "mean",
        ]
        for key in log.numericKeys {
            let actual = try #require(summary[key]?.objectValue.map(ExportReading.dictionary), "summary lacks \(key)")
            let difference = Numbers.firstDifference(
                actual,
                log.summary(key: key),
                fields: fields,
                tolerance: 1e-12,
                at: "summary \(key)"
            )
            #expect(difference == nil, "\(difference ?? "")")
        }
        for key in log.textKeys {
            let actual = summary[key]?.objectValue.map(ExportReading.dictionary)
            #expect(actual?["value"] == log.latestValue(key: key), "summary \(key) keeps its latest value")
        }
        let jsonl = try collector.export(run: run, table: "summary", format: "jsonl")
        #expect(try ExportReading.object(jsonl, "summary as JSONL") == summary)

        let csv = ExportReading.csv(try collector.export(run: run, table: "summary", format: "csv"))
        let header = try #require(csv.first)
        #expect(
            header == [
                "key", "first", "first_step", "last", "last_step", "min", "min_step", "max", "max_step", "best",
                "mean", "count", "nonfinite", "value",
            ]
        )
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

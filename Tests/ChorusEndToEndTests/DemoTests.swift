import ChorusCore
import Foundation
import Testing

/// `chorus demo` on the bundled Oscar job, checked against `oscar_expected.json` by the test
/// itself rather than by the demo's own check.
@Suite("chorus demo")
struct DemoTests {
    static let reductionFields = ["count", "nonfinite", "sum", "mean", "min", "min_rank", "max", "max_rank"]
    static let summaryFields = ["first", "last", "min", "max", "mean", "count", "nonfinite"]

    @Test("the demo exits 0 and its exports equal oscar_expected.json")
    func demoMatchesExpected() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let data = try Repository.oscarData()
        let out = scratch.path("demo")
        let outcome = try ChorusProcess.run(["demo", "--out", out, "--data", data], in: scratch, timeout: 300)
        try #require(outcome.status == 0, "chorus demo exited \(outcome.status):\n\(outcome.standardError)")

        let expected = try ExportReading.object(
            try String(contentsOfFile: data + "/oscar_expected.json", encoding: .utf8), "oscar_expected.json"
        )
        let history = try ExportReading.lines(try scratch.read("demo/history.jsonl"), "history.jsonl")
        let steps = try ExportReading.lines(try scratch.read("demo/steps.jsonl"), "steps.jsonl")
        let summary = try ExportReading.object(try scratch.read("demo/summary.json"), "summary.json")

        #expect(history.count == expected["history_rows"]?.integerValue.map(Int.init))
        #expect(steps.count == expected["steps"]?.integerValue.map(Int.init))
        checkOrder(history)
        try checkSummary(summary, expected: expected)
        try checkSomeSteps(steps, expected: expected)
        try checkSomeRows(history, expected: expected)
    }

    /// History lines come strictly ordered by (_step, _rank): sorted, and no row twice.
    private func checkOrder(_ history: [[String: JSONValue]]) {
        var previous: (Int64, Int64)?
        for (index, row) in history.enumerated() {
            guard let step = row["_step"]?.integerValue, let rank = row["_rank"]?.integerValue else {
                Issue.record("history line \(index + 1) lacks an integer _step or _rank")
                return
            }
            if let previous, !(previous < (step, rank)) {
                Issue.record("history line \(index + 1) is (\(step), \(rank)) after \(previous)")
                return
            }
            previous = (step, rank)
        }
    }

    private func checkSummary(_ summary: [String: JSONValue], expected: [String: JSONValue]) throws {
        let wanted = try #require(expected["summary"]?.objectValue.map(ExportReading.dictionary))
        let keys = Set(summary.keys.filter { !$0.hasPrefix("_") })
        #expect(keys == Set(wanted.keys), "summary.json keys differ from the expected summary's")
        for (key, expectedFields) in wanted {
            guard let actual = summary[key]?.objectValue.map(ExportReading.dictionary) else {
                Issue.record("summary.json has no key \(key)")
                continue
            }
            let fields = try #require(expectedFields.objectValue.map(ExportReading.dictionary))
            let difference = Numbers.firstDifference(
                actual, fields, fields: Self.summaryFields, at: "summary \(key)"
            )
            #expect(difference == nil, "\(difference ?? "")")
        }
    }

    private func checkSomeSteps(_ steps: [[String: JSONValue]], expected: [String: JSONValue]) throws {
        let wanted = try #require(expected["some_steps"]?.objectValue)
        #expect(!wanted.entries.isEmpty)
        let byStep = Dictionary(steps.compactMap { row in row["_step"]?.integerValue.map { ($0, row) } }) { a, _ in a }
        for (stepText, keysValue) in wanted.entries {
            let step = try #require(Int64(stepText))
            guard let row = byStep[step] else {
                Issue.record("steps.jsonl has no step \(step)")
                continue
            }
            let keys = try #require(keysValue.objectValue.map(ExportReading.dictionary))
            let reduced = row.filter { $0.value.objectValue != nil }
            #expect(Set(reduced.keys) == Set(keys.keys), "step \(step) reduces other keys than expected")
            for (key, fields) in keys {
                let actual = reduced[key]?.objectValue.map(ExportReading.dictionary) ?? [:]
                let difference = Numbers.firstDifference(
                    actual,
                    try #require(fields.objectValue.map(ExportReading.dictionary)),
                    fields: Self.reductionFields,
                    at: "step \(step) key \(key)"
                )
                #expect(difference == nil, "\(difference ?? "")")
            }
        }
    }

    private func checkSomeRows(_ history: [[String: JSONValue]], expected: [String: JSONValue]) throws {
        let wanted = try #require(expected["some_rows"]?.arrayValue)
        #expect(!wanted.isEmpty)
        for entry in wanted {
            let triple = try #require(entry.arrayValue)
            let step = try #require(triple.first?.integerValue)
            let rank = try #require(triple.dropFirst().first?.integerValue)
            let values = try #require(triple.last?.objectValue.map(ExportReading.dictionary))
            let row = history.first { $0["_step"]?.integerValue == step && $0["_rank"]?.integerValue == rank }
            guard let row else {
                Issue.record("history.jsonl has no row for step \(step) rank \(rank)")
                continue
            }
            let metrics = ExportReading.metrics(row)
            #expect(Set(metrics.keys) == Set(values.keys), "row (\(step), \(rank)) holds other keys than expected")
            let difference = Numbers.firstDifference(
                metrics, values, fields: values.keys.sorted(), at: "row (\(step), \(rank))"
            )
            #expect(difference == nil, "\(difference ?? "")")
        }
    }
}

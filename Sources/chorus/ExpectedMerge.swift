import ChorusCore
import ChorusStore
import Foundation

/// Compares a stored run with an expected merge in the shape of `oscar_expected.json`:
/// `history_rows`, `steps`, `summary` per key, `some_steps` (reductions) and `some_rows`.
enum ExpectedMerge {
    /// Every difference found, each naming what differs; empty when the run matches.
    /// Numbers compare with a relative tolerance of 1e-9, and an integer equals a double of
    /// the same value.
    static func compare(reader: StoreReader, run: String, expectedPath: String) throws -> [String] {
        guard let data = FileManager.default.contents(atPath: expectedPath),
            case .object(let expected) = try JSONParser.parse(Array(data))
        else { throw ReplayError("cannot read the expected merge \(expectedPath)") }
        var differences: [String] = []
        let record = try reader.run(run)
        if let rows = expected["history_rows"]?.integerValue, rows != record.rows {
            differences.append("history rows: expected \(rows), got \(record.rows)")
        }
        if let steps = expected["steps"]?.integerValue, steps != record.completedSteps {
            differences.append("complete steps: expected \(steps), got \(record.completedSteps)")
        }
        let summary = try reader.summary(run: run)
        if case .object(let keys)? = expected["summary"] {
            for (key, fields) in keys {
                guard let actual = summary.keys.first(where: { $0.key == key }) else {
                    differences.append("summary.\(key): missing")
                    continue
                }
                let values: [String: Double?] = [
                    "first": actual.first?.value, "last": actual.last?.value, "min": actual.min?.value,
                    "max": actual.max?.value, "mean": actual.mean, "count": Double(actual.count),
                    "nonfinite": Double(actual.nonfinite),
                ]
                differences += compareFields(fields, values, at: "summary.\(key)")
            }
        }
        if case .object(let steps)? = expected["some_steps"] {
            var stored: [Int64: StepRecord] = [:]
            let wanted = Set(steps.compactMap { Int64($0.key) })
            try reader.forEachStep(run: run) { if wanted.contains($0.step) { stored[$0.step] = $0 } }
            for (stepText, keys) in steps {
                guard let step = Int64(stepText), let record = stored[step] else {
                    differences.append("steps.\(stepText): not complete")
                    continue
                }
                guard case .object(let keys) = keys else { continue }
                for (key, expectedFields) in keys {
                    guard let reduction = record.reductions.first(where: { $0.key == key })?.reduction else {
                        differences.append("steps.\(stepText).\(key): missing")
                        continue
                    }
                    differences += compareFields(expectedFields, fields(of: reduction), at: "steps.\(stepText).\(key)")
                }
            }
        }
        if case .array(let rows)? = expected["some_rows"] {
            var stored: [String: HistoryRow] = [:]
            try reader.forEachHistoryRow(run: run) { stored["\($0.step)/\($0.rank)"] = $0 }
            for row in rows {
                guard case .array(let parts) = row, parts.count == 3, let step = parts[0].integerValue,
                    let rank = parts[1].integerValue, case .object(let values) = parts[2]
                else { continue }
                guard let actual = stored["\(step)/\(rank)"] else {
                    differences.append("history row (\(step), \(rank)): missing")
                    continue
                }
                let actualValues = Dictionary(
                    uniqueKeysWithValues: actual.values.map { ($0.key, $0.value.doubleValue) })
                if Set(actualValues.keys) != Set(values.keys) {
                    differences.append(
                        "history row (\(step), \(rank)): keys \(actualValues.keys.sorted()), "
                            + "expected \(values.keys.sorted())"
                    )
                }
                differences += compareFields(.object(values), actualValues, at: "history row (\(step), \(rank))")
            }
        }
        return differences
    }

    static func fields(of reduction: KeyReduction) -> [String: Double?] {
        [
            "count": Double(reduction.count), "nonfinite": Double(reduction.nonfinite),
            "sum": reduction.sum?.doubleValue, "mean": reduction.mean, "min": reduction.min?.doubleValue,
            "max": reduction.max?.doubleValue, "min_rank": reduction.minRank.map(Double.init),
            "max_rank": reduction.maxRank.map(Double.init),
        ]
    }

    static func compareFields(_ expected: JSONValue, _ actual: [String: Double?], at place: String) -> [String] {
        guard case .object(let fields) = expected else { return [] }
        var differences: [String] = []
        for (name, value) in fields {
            let wanted: Double? = value.doubleValue ?? value.integerValue.map(Double.init)
            let got = actual[name] ?? nil
            if !numbersMatch(wanted, got) {
                differences.append(
                    "\(place).\(name): expected \(describe(wanted)), got \(describe(got))"
                )
            }
        }
        return differences
    }

    private static func describe(_ number: Double?) -> String {
        number.map { "\($0)" } ?? "null"
    }

    /// Equal within a relative tolerance of 1e-9; NaN equals NaN; `nil` equals only `nil`.
    static func numbersMatch(_ lhs: Double?, _ rhs: Double?) -> Bool {
        switch (lhs, rhs) {
        case (nil, nil): return true
        case (let a?, let b?):
            if a.isNaN || b.isNaN { return a.isNaN && b.isNaN }
            if a == b { return true }
            return abs(a - b) <= 1e-9 * max(abs(a), abs(b))
        default: return false
        }
    }
}

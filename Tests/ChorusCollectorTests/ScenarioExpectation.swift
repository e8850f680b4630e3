import ChorusCore
import ChorusStore

/// What the store holds for one run, read back through ``StoreReader`` as users read it.
struct ScenarioSnapshot {
    var history: [HistoryRow] = []
    var steps: [Int64: StepRecord] = [:]
    var summary = RunSummary()
    var run: RunRecord?
    var ranks: [RankRecord] = []

    init(reader: StoreReader, run: String) throws {
        guard let record = try reader.runs().first(where: { $0.name == run }) else { return }
        self.run = record
        try reader.forEachHistoryRow(run: run) { history.append($0) }
        try reader.forEachStep(run: run) { steps[$0.step] = $0 }
        summary = try reader.summary(run: run)
        ranks = try reader.ranks(run: run)
    }

    /// Where this snapshot and `other` differ in history, reductions, summary or duplicates,
    /// compared exactly (NaN equal to NaN).
    func differences(from other: ScenarioSnapshot) -> [String] {
        var differences: [String] = []
        if history.count != other.history.count {
            differences.append("history has \(history.count) rows, the other \(other.history.count)")
        }
        for (row, otherRow) in zip(history, other.history) where !Self.same(row, otherRow) {
            differences.append(
                "history row (\(row.step), \(row.rank)) \(row.values) differs from "
                    + "(\(otherRow.step), \(otherRow.rank)) \(otherRow.values)"
            )
        }
        if Set(steps.keys) != Set(other.steps.keys) {
            differences.append("complete steps differ: \(steps.count) against \(other.steps.count)")
        }
        for (step, record) in steps {
            guard let otherRecord = other.steps[step] else { continue }
            let mine = record.reductions.map { "\($0.key)=\($0.reduction)" }
            let theirs = otherRecord.reductions.map { "\($0.key)=\($0.reduction)" }
            if mine != theirs { differences.append("step \(step) reductions: \(mine) against \(theirs)") }
        }
        if summary.keys != other.summary.keys {
            differences.append("summaries differ: \(summary.keys) against \(other.summary.keys)")
        }
        if run?.duplicates != other.run?.duplicates {
            differences.append("duplicates: \(run?.duplicates ?? -1) against \(other.run?.duplicates ?? -1)")
        }
        return differences
    }

    private static func same(_ lhs: HistoryRow, _ rhs: HistoryRow) -> Bool {
        guard lhs.step == rhs.step, lhs.rank == rhs.rank, lhs.values.count == rhs.values.count else { return false }
        return zip(lhs.values, rhs.values).allSatisfy { left, right in
            guard left.key == right.key else { return false }
            if case .double(let a) = left.value, case .double(let b) = right.value, a.isNaN, b.isNaN { return true }
            return left.value == right.value
        }
    }
}

/// Compares a case's `expect` (or a check's) with a snapshot, naming the first field of each
/// difference. Numbers match within a relative 1e-9; NaN matches NaN; an integer matches a
/// double of the same value; `null` matches only a missing value.
enum ScenarioExpectation {
    static func differences(_ expect: JSONObject, in snapshot: ScenarioSnapshot) -> [String] {
        var differences: [String] = []
        for (field, value) in expect {
            switch field {
            case "history": differences += history(value, snapshot)
            case "steps": differences += steps(value, snapshot)
            case "summary": differences += summary(value, snapshot)
            case "stats":
                for (name, number) in value.objectValue ?? JSONObject() {
                    let actual: Int64? =
                        switch name {
                        case "duplicates": snapshot.run?.duplicates
                        case "late": snapshot.run?.late
                        case "rejected": snapshot.run?.rejected
                        case "received": snapshot.run?.received
                        default: nil
                        }
                    if actual != number.integerValue {
                        differences.append(
                            "stats.\(name): expected \(number), got \(actual.map(String.init) ?? "none")")
                    }
                }
            case "rows":
                if snapshot.run?.rows != value.integerValue {
                    differences.append("rows: expected \(value), got \(snapshot.run?.rows ?? 0)")
                }
            case "max_open_steps_seen":
                if snapshot.run?.maxOpenStepsSeen != value.integerValue {
                    differences.append(
                        "max_open_steps_seen: expected \(value), got \(snapshot.run?.maxOpenStepsSeen ?? 0)")
                }
            case "finished":
                if snapshot.run?.finished != value.boolValue {
                    differences.append("finished: expected \(value), got \(snapshot.run?.finished ?? false)")
                }
            case "ranks":
                for (rank, state) in value.objectValue ?? JSONObject() {
                    let actual = snapshot.ranks.first { String($0.rank) == rank }?.status
                    if actual != state.stringValue {
                        differences.append("ranks.\(rank): expected \(state), got \(actual ?? "unknown")")
                    }
                }
            case "gaps":
                differences += gaps(value, snapshot)
            default:
                differences.append("expectation \(field) is not understood by this harness")
            }
        }
        return differences
    }

    private static func history(_ expected: JSONValue, _ snapshot: ScenarioSnapshot) -> [String] {
        let rows = expected.arrayValue ?? []
        var differences: [String] = []
        if rows.count != snapshot.history.count {
            differences.append("history: expected \(rows.count) rows, got \(snapshot.history.count)")
        }
        for (index, (row, actual)) in zip(rows, snapshot.history).enumerated() {
            guard let parts = row.arrayValue, parts.count == 3, let values = parts[2].objectValue else { continue }
            let place = "history[\(index)]"
            if parts[0].integerValue != actual.step || parts[1].integerValue != Int64(actual.rank) {
                differences.append(
                    "\(place): expected (\(parts[0]), \(parts[1])), got (\(actual.step), \(actual.rank))")
                continue
            }
            let actualValues = Dictionary(uniqueKeysWithValues: actual.values.map { ($0.key, $0.value) })
            if Set(values.keys) != Set(actualValues.keys) {
                differences.append(
                    "\(place) (\(actual.step), \(actual.rank)): keys \(actualValues.keys.sorted()), "
                        + "expected \(values.keys.sorted())"
                )
            }
            for (key, value) in values where !matches(value, actualValues[key]?.doubleValue) {
                differences.append(
                    "\(place) (\(actual.step), \(actual.rank)).\(key): expected \(value), "
                        + "got \(actualValues[key].map { "\($0)" } ?? "nothing")"
                )
            }
        }
        return differences
    }

    private static func steps(_ expected: JSONValue, _ snapshot: ScenarioSnapshot) -> [String] {
        var differences: [String] = []
        for (stepText, keys) in expected.objectValue ?? JSONObject() {
            guard let step = Int64(stepText), let record = snapshot.steps[step] else {
                differences.append("steps.\(stepText): not complete")
                continue
            }
            for (key, fields) in keys.objectValue ?? JSONObject() {
                if key == "missing" {
                    let expectedRanks = (fields.arrayValue ?? []).compactMap(\.integerValue)
                    if expectedRanks != record.missing.map(Int64.init) {
                        differences.append(
                            "steps.\(stepText).missing: expected \(expectedRanks), got \(record.missing)")
                    }
                    continue
                }
                guard let reduction = record.reductions.first(where: { $0.key == key })?.reduction else {
                    differences.append("steps.\(stepText).\(key): no reduction")
                    continue
                }
                let actual: [String: Double?] = [
                    "count": Double(reduction.count), "nonfinite": Double(reduction.nonfinite),
                    "sum": reduction.sum?.doubleValue, "mean": reduction.mean, "min": reduction.min?.doubleValue,
                    "max": reduction.max?.doubleValue, "min_rank": reduction.minRank.map(Double.init),
                    "max_rank": reduction.maxRank.map(Double.init),
                ]
                for (name, value) in fields.objectValue ?? JSONObject() where !matches(value, actual[name] ?? nil) {
                    differences.append(
                        "steps.\(stepText).\(key).\(name): expected \(value), "
                            + "got \((actual[name] ?? nil).map { "\($0)" } ?? "null")"
                    )
                }
            }
        }
        return differences
    }

    private static func summary(_ expected: JSONValue, _ snapshot: ScenarioSnapshot) -> [String] {
        var differences: [String] = []
        for (key, fields) in expected.objectValue ?? JSONObject() {
            guard let actual = snapshot.summary.keys.first(where: { $0.key == key }) else {
                differences.append("summary.\(key): missing")
                continue
            }
            let values: [String: Double?] = [
                "first": actual.first?.value, "last": actual.last?.value, "min": actual.min?.value,
                "max": actual.max?.value, "mean": actual.mean, "count": Double(actual.count),
                "nonfinite": Double(actual.nonfinite),
            ]
            for (name, value) in fields.objectValue ?? JSONObject() where !matches(value, values[name] ?? nil) {
                differences.append(
                    "summary.\(key).\(name): expected \(value), got \((values[name] ?? nil).map { "\($0)" } ?? "null")")
            }
        }
        return differences
    }

    private static func gaps(_ expected: JSONValue, _ snapshot: ScenarioSnapshot) -> [String] {
        let wanted = expected.objectValue ?? JSONObject()
        var differences: [String] = []
        for rank in snapshot.ranks {
            let actual = rank.incarnations.flatMap { expand($0.gaps) }
            let expectedNumbers = (wanted[String(rank.rank)]?.arrayValue ?? []).compactMap(\.integerValue)
            if actual != expectedNumbers {
                differences.append("gaps.\(rank.rank): expected \(expectedNumbers), got \(actual)")
            }
        }
        return differences
    }

    /// `6-7,12` as `[6, 7, 12]`.
    private static func expand(_ gaps: String) -> [Int64] {
        gaps.split(separator: ",").flatMap { part -> [Int64] in
            let bounds = part.split(separator: "-").compactMap { Int64($0) }
            guard let low = bounds.first else { return [] }
            return Array(low...(bounds.last ?? low))
        }
    }

    static func matches(_ expected: JSONValue, _ actual: Double?) -> Bool {
        let wanted: Double? = expected.doubleValue ?? expected.integerValue.map(Double.init)
        switch (wanted, actual) {
        case (nil, nil): return true
        case (let a?, let b?):
            if a.isNaN || b.isNaN { return a.isNaN && b.isNaN }
            return a == b || abs(a - b) <= 1e-9 * max(abs(a), abs(b))
        default: return false
        }
    }
}

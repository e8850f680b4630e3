import ChorusCore
import Foundation

/// Lines a test writes to per-rank files for `chorus replay`, and what the merge of them must
/// be, worked out here from the lines alone.
struct RankLog {
    /// One logged line: `{"rank": r, "step": s, "time": t, "data": {...}}`.
    struct Line {
        var rank: Int
        var step: Int64
        var time: Double
        var values: [String: JSONValue]
    }

    /// Every line of every rank.
    var lines: [Line]

    /// The ranks that log.
    var ranks: [Int] { Array(Set(lines.map(\.rank))).sorted() }

    /// Writes one file per rank into `scratch` and returns their paths, rank order.
    func write(to scratch: Scratch, prefix: String = "rank") throws -> [String] {
        try ranks.map { rank in
            let text = lines.filter { $0.rank == rank }.map { line in
                let entries = line.values.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
                let data = JSONValue.object(JSONObject(entries))
                let object: JSONValue = [
                    "rank": .integer(Int64(line.rank)), "step": .integer(line.step), "time": .double(line.time),
                    "data": data,
                ]
                return JSONWriter.compactText(object) + "\n"
            }.joined()
            return try scratch.write("\(prefix)\(rank).jsonl", text)
        }
    }

    /// When `rank` started, for `_runtime`: its earliest line, as its first hello says.
    func startTime(rank: Int) -> Double {
        lines.filter { $0.rank == rank }.map(\.time).min() ?? 0
    }

    /// The history the collector must produce: one row per (step, rank), ordered by both.
    var history: [Line] {
        lines.sorted { ($0.step, $0.rank) < ($1.step, $1.rank) }
    }

    /// The keys whose values are numbers.
    var numericKeys: [String] {
        Set(lines.flatMap { line in line.values.filter { Numbers.double($0.value) != nil }.map(\.key) }).sorted()
    }

    /// The keys that hold a string somewhere.
    var textKeys: [String] {
        Set(lines.flatMap { line in line.values.filter { $0.value.stringValue != nil }.map(\.key) }).sorted()
    }

    /// The value of `key` in the last history row that holds it: what the summary keeps.
    func latestValue(key: String) -> JSONValue? {
        history.last { $0.values[key] != nil }?.values[key]
    }

    /// Each step's reduction of `key` across ranks, worked out independently of the product.
    func reduction(step: Int64, key: String) -> [String: JSONValue]? {
        Self.reduction(of: lines.filter { $0.step == step }, key: key)
    }

    /// The lines of each step, for working out many steps' reductions at once.
    var linesByStep: [Int64: [Line]] { Dictionary(grouping: lines, by: \.step) }

    /// The reduction of `key` across `stepLines`, the lines of one step.
    static func reduction(of stepLines: [Line], key: String) -> [String: JSONValue]? {
        let held = stepLines.sorted { $0.rank < $1.rank }.compactMap { line -> (Int, JSONValue)? in
            guard let value = line.values[key], Numbers.double(value) != nil else { return nil }
            return (line.rank, value)
        }
        guard !held.isEmpty else { return nil }
        let finite = held.filter { Numbers.double($0.1)!.isFinite }
        var result: [String: JSONValue] = [
            "count": .integer(Int64(held.count)), "nonfinite": .integer(Int64(held.count - finite.count)),
        ]
        guard !finite.isEmpty else {
            for field in ["sum", "mean", "min", "min_rank", "max", "max_rank"] { result[field] = .null }
            return result
        }
        let (sum, mean) = Self.sumAndMean(finite.map(\.1))
        result["sum"] = sum
        result["mean"] = .double(mean)
        // The lowest rank among equal values; integers compare exactly, beyond a double's 53 bits.
        let low = finite.min { Self.less($0.1, $1.1) || (!Self.less($1.1, $0.1) && $0.0 < $1.0) }!
        let high = finite.min { Self.less($1.1, $0.1) || (!Self.less($0.1, $1.1) && $0.0 < $1.0) }!
        result["min"] = low.1
        result["min_rank"] = .integer(Int64(low.0))
        result["max"] = high.1
        result["max_rank"] = .integer(Int64(high.0))
        return result
    }

    /// Whether `a` is below `b`: exactly for two integers, as doubles otherwise.
    static func less(_ a: JSONValue, _ b: JSONValue) -> Bool {
        if let a = a.integerValue, let b = b.integerValue { return a < b }
        return Numbers.double(a)! < Numbers.double(b)!
    }

    /// The exact sum (an integer when every value is one and it fits 64 bits) and the mean.
    ///
    /// Integers add exactly in 128 bits. Doubles add in pairs at most here (two ranks), and
    /// one IEEE addition is already the correctly rounded exact sum; halving it is exact.
    static func sumAndMean(_ values: [JSONValue]) -> (JSONValue, Double) {
        let integers = values.compactMap(\.integerValue)
        if integers.count == values.count {
            let exact = integers.reduce(Int128(0)) { $0 + Int128($1) }
            let sum: JSONValue = Int64(exactly: exact).map { .integer($0) } ?? .double(Double(exact))
            return (sum, Double(exact) / Double(values.count))
        }
        precondition(values.count <= 2, "the test's doubles are summed exactly only in pairs")
        let total = values.map { Numbers.double($0)! }.reduce(0, +)
        return (.double(total), total / Double(values.count))
    }

    /// The summary of `key`: headline (mean) series first/last/min/max with their steps, the
    /// mean of every raw finite value, the count of numbers and of non-finite ones.
    func summary(key: String) -> [String: JSONValue] {
        let byStep = linesByStep
        let headline = byStep.keys.sorted().compactMap { step -> (Int64, Double)? in
            guard let mean = Self.reduction(of: byStep[step]!, key: key)?["mean"], let value = Numbers.double(mean)
            else {
                return nil
            }
            return (step, value)
        }
        let raw = lines.compactMap { $0.values[key].flatMap(Numbers.double) }
        let finite = raw.filter(\.isFinite)
        var result: [String: JSONValue] = [
            "count": .integer(Int64(raw.count)), "nonfinite": .integer(Int64(raw.count - finite.count)),
            "mean": .double(Self.accurateSum(finite) / Double(finite.count)),
        ]
        let points: [(String, (Int64, Double)?)] = [
            ("first", headline.first), ("last", headline.last),
            ("min", headline.min { ($0.1, $0.0) < ($1.1, $1.0) }),
            ("max", headline.min { (-$0.1, $0.0) < (-$1.1, $1.0) }),
        ]
        for (name, point) in points {
            result[name] = point.map { .double($0.1) } ?? .null
            result[name + "_step"] = point.map { .integer($0.0) } ?? .null
        }
        return result
    }

    /// A sum with compensation (Neumaier), close enough to exact for a relative check.
    static func accurateSum(_ values: [Double]) -> Double {
        var sum = 0.0
        var compensation = 0.0
        for value in values {
            let total = sum + value
            compensation += abs(sum) >= abs(value) ? (sum - total) + value : (value - total) + sum
            sum = total
        }
        return sum + compensation
    }
}

import ChorusCore
import ChorusStore

extension Exporter {
    /// The history as a wide table: one column per key, empty where a row lacks the key.
    func historyCSV(_ output: (String) throws -> Void) throws {
        let keys = try readerKeyNames()
        let column = Dictionary(uniqueKeysWithValues: keys.enumerated().map { ($1, $0) })
        try output(
            (["_step", "_rank", "_timestamp", "_runtime"] + keys).map(Self.csvField).joined(separator: ",") + "\n")
        try forEachHistoryRow { row in
            var fields = [String](repeating: "", count: keys.count)
            for entry in row.values {
                if let index = column[entry.key] { fields[index] = Self.csvText(entry.value) }
            }
            let lead = [
                String(row.step), String(row.rank), Self.csvText(.double(row.timestamp)),
                Self.csvText(.double(runtime(of: row))),
            ]
            try output((lead + fields.map(Self.csvField)).joined(separator: ",") + "\n")
        }
    }

    /// The step reductions in long form: one line per step and key.
    func stepsCSV(_ output: (String) throws -> Void) throws {
        let header = [
            "_step", "key", "count", "nonfinite", "sum", "mean", "min", "min_rank", "max", "max_rank",
            "missing", "forced",
        ]
        try output(header.joined(separator: ",") + "\n")
        try forEachStep { step in
            let missing = Self.csvField(step.missing.map(String.init).joined(separator: " "))
            for (key, reduction) in step.reductions {
                let fields = [
                    String(step.step), Self.csvField(key), String(reduction.count), String(reduction.nonfinite),
                    Self.csvText(reduction.sum), reduction.mean.map { Self.csvText(.double($0)) } ?? "",
                    Self.csvText(reduction.min), reduction.minRank.map(String.init) ?? "", Self.csvText(reduction.max),
                    reduction.maxRank.map(String.init) ?? "", missing, step.forced ? "true" : "false",
                ]
                try output(fields.joined(separator: ",") + "\n")
            }
        }
    }

    /// The summary, one line per key.
    func summaryCSV(_ output: (String) throws -> Void) throws {
        let header = [
            "key", "first", "first_step", "last", "last_step", "min", "min_step", "max", "max_step", "best",
            "mean", "count", "nonfinite", "value",
        ]
        try output(header.joined(separator: ",") + "\n")
        for key in try runSummary().keys {
            var fields = [Self.csvField(key.key)]
            for point in [key.first, key.last, key.min, key.max] {
                fields.append(point.map { Self.csvText(.double($0.value)) } ?? "")
                fields.append(point.map { String($0.step) } ?? "")
            }
            fields.append(key.best.map { Self.csvText(.double($0)) } ?? "")
            fields.append(key.mean.map { Self.csvText(.double($0)) } ?? "")
            fields += [String(key.count), String(key.nonfinite), Self.csvField(key.text ?? "")]
            try output(fields.joined(separator: ",") + "\n")
        }
    }

    /// A value as CSV text: numbers as Python writes them, anything else as its JSON.
    static func csvText(_ value: MetricValue) -> String {
        var writer = JSONWriter()
        append(value, to: &writer)
        return String(decoding: writer.bytes, as: UTF8.self)
    }

    static func csvText(_ number: ReducedNumber?) -> String {
        switch number {
        case .integer(let integer)?: String(integer)
        case .double(let double)?: csvText(.double(double))
        case nil: ""
        }
    }

    /// A field quoted as RFC 4180 asks when it holds a comma, a quote or a line break.
    static func csvField(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}

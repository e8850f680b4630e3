import ChorusCore
import ChorusStore

/// A run's summary as an aligned text table, for `chorus show` and `chorus demo`.
enum SummaryTable {
    /// The table for `run`, with a heading line.
    static func render(reader: StoreReader, run: String) throws -> String {
        let record = try reader.run(run)
        let summary = try reader.summary(run: run)
        var lines = [
            "run \(record.name): world size \(record.worldSize.map(String.init) ?? "?"), "
                + "\(record.rows) rows, \(record.completedSteps) complete steps, \(record.received) records "
                + "(\(record.duplicates) duplicate, \(record.late) late, \(record.rejected) rejected)"
                + (record.finished ? ", finished" : ", live"),
            "",
        ]
        let header = ["key", "first", "last", "min", "max", "mean", "count", "nonfinite"]
        var rows = [header]
        for key in summary.keys {
            if let text = key.text, key.count == 0 {
                let shown = text.count > 40 ? text.prefix(39) + "…" : Substring(text)
                rows.append([key.key, "", String(shown), "", "", "", "", ""])
                continue
            }
            rows.append([
                key.key, format(key.first), format(key.last), format(key.min), format(key.max),
                key.mean.map(format) ?? "-", String(key.count), String(key.nonfinite),
            ])
        }
        lines += align(rows)
        if !summary.userValues.isEmpty {
            lines.append("")
            lines.append(
                "set by the run: " + summary.userValues.map { "\($0.key)=\(text($0.value))" }.joined(separator: " "))
        }
        return lines.joined(separator: "\n")
    }

    /// Rows padded so that columns line up; the first column left-aligned, the rest right.
    static func align(_ rows: [[String]]) -> [String] {
        guard let columns = rows.map(\.count).max() else { return [] }
        var widths = [Int](repeating: 0, count: columns)
        for row in rows {
            for (index, cell) in row.enumerated() { widths[index] = max(widths[index], cell.count) }
        }
        return rows.map { row in
            row.enumerated().map { index, cell in
                let padding = String(repeating: " ", count: widths[index] - cell.count)
                return index == 0 ? cell + padding : padding + cell
            }.joined(separator: "  ")
        }
    }

    static func format(_ point: SeriesPoint?) -> String {
        guard let point else { return "-" }
        return "\(format(point.value)) @\(point.step)"
    }

    static func format(_ value: Double) -> String {
        text(.double(value))
    }

    static func text(_ value: MetricValue) -> String {
        var writer = JSONWriter()
        switch value {
        case .integer(let integer): writer.appendInteger(integer)
        case .double(let double):
            // Six significant digits read best in a table; the exports keep every digit.
            let rounded = Double(String(format: "%.6g", double)) ?? double
            writer.appendDouble(rounded)
        case .other(let text): return text
        }
        return String(decoding: writer.bytes, as: UTF8.self)
    }
}

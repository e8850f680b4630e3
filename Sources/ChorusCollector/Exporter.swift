import ChorusCore
import ChorusStore

/// What `chorus export` can write.
public enum ExportTable: String, Sendable, CaseIterable {
    /// One line per (step, rank) row, as wandb's history lines.
    case history
    /// One line per complete step with each key's reduction.
    case steps
    /// The run's summary.
    case summary
}

/// The formats `chorus export` writes.
public enum ExportFormat: String, Sendable, CaseIterable {
    /// One JSON object per line.
    case jsonl
    /// One JSON document.
    case json
    /// Comma-separated values with a header line.
    case csv
}

/// Writes a run's history, step reductions or summary from a store, as JSON Lines, JSON or
/// CSV, in the shapes people already read: history lines carry `_step`, `_rank`,
/// `_timestamp` and `_runtime` like wandb's, and NaN is written as Python writes it.
public struct Exporter {
    let reader: StoreReader
    let run: RunRecord
    /// When each rank's first process started, for `_runtime`.
    private let rankStart: [Int32: Double]

    /// Prepares to export `run` from `reader`.
    /// - Throws: ``StoreError`` naming the runs there are, if `run` is not one of them.
    public init(reader: StoreReader, run: String) throws {
        self.reader = reader
        self.run = try reader.run(run)
        var starts: [Int32: Double] = [:]
        for rank in try reader.ranks(run: run) {
            if let earliest = rank.incarnations.map(\.startTime).filter({ $0 > 0 }).min() {
                starts[rank.rank] = earliest
            }
        }
        rankStart = starts
    }

    /// Seconds since the rank's (else the run's) start, as wandb's `_runtime`.
    func runtime(of row: HistoryRow) -> Double {
        row.timestamp - (rankStart[row.rank] ?? run.startTime ?? row.timestamp)
    }

    /// Writes `table` in `format`, handing out the text in pieces.
    public func export(_ table: ExportTable, as format: ExportFormat, to output: (String) throws -> Void) throws {
        switch (table, format) {
        case (.history, .csv):
            try historyCSV(output)
        case (.history, _):
            try lines(format, output) {
                try reader.forEachHistoryRow(run: run.name, $0)
            } encode: { writer, row in
                historyObject(row, into: &writer)
            }
        case (.steps, .csv):
            try stepsCSV(output)
        case (.steps, _):
            try lines(format, output) {
                try reader.forEachStep(run: run.name, $0)
            } encode: { writer, step in
                stepObject(step, into: &writer)
            }
        case (.summary, .csv):
            try summaryCSV(output)
        case (.summary, _):
            var writer = JSONWriter(separators: .spaced)
            summaryObject(try reader.summary(run: run.name), into: &writer)
            try output(String(decoding: writer.bytes, as: UTF8.self) + "\n")
        }
    }

    /// Writes every item `produce` yields as JSON Lines, or as one JSON array.
    func readerKeyNames() throws -> [String] { try reader.keyNames(run: run.name) }

    func runSummary() throws -> RunSummary { try reader.summary(run: run.name) }

    func forEachHistoryRow(_ body: (HistoryRow) throws -> Void) throws {
        try reader.forEachHistoryRow(run: run.name, body)
    }

    func forEachStep(_ body: (StepRecord) throws -> Void) throws {
        try reader.forEachStep(run: run.name, body)
    }

    private func lines<Item>(
        _ format: ExportFormat,
        _ output: (String) throws -> Void,
        produce: ((Item) throws -> Void) throws -> Void,
        encode: (inout JSONWriter, Item) -> Void
    ) throws {
        var writer = JSONWriter(separators: .spaced)
        var first = true
        if format == .json { try output("[") }
        try withoutActuallyEscaping(output) { output in
            try withoutActuallyEscaping(encode) { encode in
                try produce { item in
                    writer.reset()
                    encode(&writer, item)
                    let text = String(decoding: writer.bytes, as: UTF8.self)
                    try output(format == .json ? (first ? "\n" : ",\n") + text : text + "\n")
                    first = false
                }
            }
        }
        if format == .json { try output(first ? "]\n" : "\n]\n") }
    }

    private func historyObject(_ row: HistoryRow, into writer: inout JSONWriter) {
        writer.beginObject()
        writer.appendKey("_step")
        writer.appendInteger(row.step)
        writer.appendKey("_rank")
        writer.appendInteger(Int64(row.rank))
        writer.appendKey("_timestamp")
        writer.appendDouble(row.timestamp)
        writer.appendKey("_runtime")
        writer.appendDouble(runtime(of: row))
        for entry in row.values {
            writer.appendKey(entry.key)
            Self.append(entry.value, to: &writer)
        }
        writer.endObject()
    }

    private func stepObject(_ step: StepRecord, into writer: inout JSONWriter) {
        writer.beginObject()
        writer.appendKey("_step")
        writer.appendInteger(step.step)
        writer.appendKey("missing")
        writer.beginArray()
        for rank in step.missing { writer.appendInteger(Int64(rank)) }
        writer.endArray()
        writer.appendKey("forced")
        writer.appendBool(step.forced)
        for (key, reduction) in step.reductions {
            writer.appendKey(key)
            Self.append(reduction, to: &writer)
        }
        writer.endObject()
    }

    private func summaryObject(_ summary: RunSummary, into writer: inout JSONWriter) {
        writer.beginObject()
        for key in summary.keys {
            writer.appendKey(key.key)
            writer.beginObject()
            for (name, point) in [("first", key.first), ("last", key.last), ("min", key.min), ("max", key.max)] {
                writer.appendKey(name)
                Self.appendOptional(point?.value, to: &writer)
                writer.appendKey(name + "_step")
                if let step = point?.step { writer.appendInteger(step) } else { writer.appendNull() }
            }
            if let best = key.best {
                writer.appendKey("best")
                writer.appendDouble(best)
            }
            writer.appendKey("mean")
            Self.appendOptional(key.mean, to: &writer)
            writer.appendKey("count")
            writer.appendInteger(key.count)
            writer.appendKey("nonfinite")
            writer.appendInteger(key.nonfinite)
            if let text = key.text {
                writer.appendKey("value")
                Self.append(.other(text), to: &writer)
            }
            writer.endObject()
        }
        writer.appendKey("_user")
        writer.beginObject()
        for entry in summary.userValues {
            writer.appendKey(entry.key)
            Self.append(entry.value, to: &writer)
        }
        writer.endObject()
        writer.appendKey("_rank_last")
        writer.beginObject()
        var currentRank: Int32?
        for value in summary.rankLastValues {
            if value.rank != currentRank {
                if currentRank != nil { writer.endObject() }
                writer.appendKey(String(value.rank))
                writer.beginObject()
                currentRank = value.rank
            }
            writer.appendKey(value.key)
            Self.append(value.value, to: &writer)
        }
        if currentRank != nil { writer.endObject() }
        writer.endObject()
        writer.endObject()
    }

    static func append(_ value: MetricValue, to writer: inout JSONWriter) {
        switch value {
        case .integer(let integer): writer.appendInteger(integer)
        case .double(let double): writer.appendDouble(double)
        case .other(let text): writer.append((try? JSONParser.parse(text)) ?? .string(text))
        }
    }

    static func append(_ number: ReducedNumber?, to writer: inout JSONWriter) {
        switch number {
        case .integer(let integer)?: writer.appendInteger(integer)
        case .double(let double)?: writer.appendDouble(double)
        case nil: writer.appendNull()
        }
    }

    static func appendOptional(_ value: Double?, to writer: inout JSONWriter) {
        if let value { writer.appendDouble(value) } else { writer.appendNull() }
    }

    static func appendOptional(_ value: Int32?, to writer: inout JSONWriter) {
        if let value { writer.appendInteger(Int64(value)) } else { writer.appendNull() }
    }

    static func append(_ reduction: KeyReduction, to writer: inout JSONWriter) {
        writer.beginObject()
        writer.appendKey("count")
        writer.appendInteger(Int64(reduction.count))
        writer.appendKey("nonfinite")
        writer.appendInteger(Int64(reduction.nonfinite))
        writer.appendKey("sum")
        append(reduction.sum, to: &writer)
        writer.appendKey("mean")
        appendOptional(reduction.mean, to: &writer)
        writer.appendKey("min")
        append(reduction.min, to: &writer)
        writer.appendKey("min_rank")
        appendOptional(reduction.minRank, to: &writer)
        writer.appendKey("max")
        append(reduction.max, to: &writer)
        writer.appendKey("max_rank")
        appendOptional(reduction.maxRank, to: &writer)
        writer.endObject()
    }
}

import ChorusCollector
import ChorusStore
import Foundation

/// `chorus export`: a run's history, step reductions or summary as JSONL, JSON or CSV.
enum ExportCommand: Command {
    static let name = "export"
    static let summary = "write a run's history, step reductions or summary as JSONL, JSON or CSV"
    static let help = """
        Usage: chorus export --run ID [--table TABLE] [--format FORMAT] [--output FILE] [--store FILE]
               chorus export --run ID --out DIR [--store FILE]

        Tables: history (one line per step and rank, with _step, _rank, _timestamp, _runtime
        like a wandb history line), steps (one line per complete step with each key's count,
        nonfinite, sum, mean, min, min_rank, max, max_rank), summary (per key: first, last,
        min, max with their steps, mean of every raw value, count, nonfinite).

        Options:
          --run ID          the run (see `chorus runs`)
          --table TABLE     history, steps or summary (default history)
          --format FORMAT   jsonl, json or csv (default jsonl; json for summary)
          --output FILE     write there instead of standard output
          --out DIR         write every table: history.jsonl, history.csv, steps.jsonl,
                            steps.csv, summary.json
          --store FILE      the store (default: $CHORUS_STORE, else chorus.sqlite)
        """

    static func run(_ arguments: inout Arguments) throws -> Int32 {
        let store =
            try arguments.option("store") ?? ProcessInfo.processInfo.environment["CHORUS_STORE"] ?? "chorus.sqlite"
        guard let runID = try arguments.option("run") else { throw UsageError("name the run with --run ID") }
        let table = try arguments.choice("table", ExportTable.allCases.map(\.rawValue)).flatMap(ExportTable.init)
        let format = try arguments.choice("format", ExportFormat.allCases.map(\.rawValue)).flatMap(ExportFormat.init)
        let output = try arguments.option("output")
        let directory = try arguments.option("out")
        try arguments.finish()
        if directory != nil && (table != nil || format != nil || output != nil) {
            throw UsageError("--out writes every table; it does not go with --table, --format or --output")
        }
        let exporter = try Exporter(reader: try StoreReader(path: store), run: runID)
        if let directory {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let targets: [(ExportTable, ExportFormat, String)] = [
                (.history, .jsonl, "history.jsonl"), (.history, .csv, "history.csv"), (.steps, .jsonl, "steps.jsonl"),
                (.steps, .csv, "steps.csv"), (.summary, .json, "summary.json"),
            ]
            for (table, format, file) in targets {
                try write(exporter: exporter, table: table, format: format, to: "\(directory)/\(file)")
                printLine("\(directory)/\(file)")
            }
            return 0
        }
        let chosenTable = table ?? .history
        let chosenFormat = format ?? (chosenTable == .summary ? .json : .jsonl)
        if let output {
            try write(exporter: exporter, table: chosenTable, format: chosenFormat, to: output)
        } else {
            try exporter.export(chosenTable, as: chosenFormat) { FileHandle.standardOutput.write(Data($0.utf8)) }
        }
        return 0
    }

    /// Writes one table to a new file, readable by its owner and group only.
    static func write(exporter: Exporter, table: ExportTable, format: ExportFormat, to path: String) throws {
        guard FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o640]),
            let handle = FileHandle(forWritingAtPath: path)
        else { throw ReplayError("cannot write \(path)") }
        defer { try? handle.close() }
        var buffer = Data()
        try exporter.export(table, as: format) { text in
            buffer.append(contentsOf: text.utf8)
            if buffer.count >= 1 << 16 {
                try handle.write(contentsOf: buffer)
                buffer.removeAll(keepingCapacity: true)
            }
        }
        try handle.write(contentsOf: buffer)
    }
}

import ChorusCollector
import ChorusStore
import Foundation

/// `chorus export`: a run's history, step reductions or summary as JSONL, JSON or CSV, and its
/// step reductions for TensorBoard.
enum ExportCommand: Command {
    static let name = "export"
    static let summary = "write a run's history, step reductions or summary as JSONL, JSON, CSV or for TensorBoard"
    static let help = """
        Usage: chorus export --run ID [--table TABLE] [--format FORMAT] [--output FILE] [--store FILE]
               chorus export --run ID --out DIR [--store FILE]
               chorus export --run ID --tensorboard DIR [--store FILE]

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
                            steps.csv, summary.json, and the TensorBoard event file
          --tensorboard DIR write the step reductions as a TensorBoard event file there:
                            KEY/mean, KEY/min and KEY/max at each step (`tensorboard --logdir DIR`)
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
        let tensorBoard = try arguments.option("tensorboard")
        try arguments.finish()
        if directory != nil && (table != nil || format != nil || output != nil || tensorBoard != nil) {
            throw UsageError(
                "--out writes every table; it does not go with --table, --format, --output or --tensorboard")
        }
        if tensorBoard != nil && (table != nil || format != nil || output != nil) {
            throw UsageError(
                "--tensorboard writes the step reductions; it does not go with --table, --format or --output")
        }
        let exporter = try Exporter(reader: try StoreReader(path: store), run: runID)
        if let tensorBoard {
            printLine(try writeTensorBoard(exporter: exporter, into: tensorBoard))
            return 0
        }
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
            printLine(try writeTensorBoard(exporter: exporter, into: directory))
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

    /// Writes the TensorBoard event file into `directory`, made if needed.
    /// - Returns: the file's path.
    static func writeTensorBoard(exporter: Exporter, into directory: String) throws -> String {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let path = "\(directory)/\(exporter.tensorBoardFileName)"
        let handle = try newFile(path)
        defer { try? handle.close() }
        try exporter.exportTensorBoardEvents { try handle.write(contentsOf: $0) }
        return path
    }

    /// Creates `path` afresh, readable by its owner and group only, for writing.
    private static func newFile(_ path: String) throws -> FileHandle {
        guard FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o640]),
            let handle = FileHandle(forWritingAtPath: path)
        else { throw ReplayError("cannot write \(path)") }
        return handle
    }

    /// Writes one table to a new file, readable by its owner and group only.
    static func write(exporter: Exporter, table: ExportTable, format: ExportFormat, to path: String) throws {
        let handle = try newFile(path)
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

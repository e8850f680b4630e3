import ChorusCollector
import ChorusCore
import ChorusStore
import Foundation

/// `chorus demo`: the whole path on a real two-rank job, in one command.
enum DemoCommand: Command {
    static let name = "demo"
    static let summary = "replay a real two-rank training job through a live collector and show the merge"
    static let help = """
        Usage: chorus demo [--out DIR] [--run ID] [FILE...]

        Starts a collector, starts one process per rank that replays that rank's log through
        the Swift client over a real socket, shows progress, then prints the merged summary
        and where the store and the exports are. Without FILEs it replays the bundled Oscar
        job (Data/oscar, two ranks, 10,740 lines) and checks the result against
        Data/oscar/oscar_expected.json.

        Options:
          --out DIR      where the store and exports go (default: ./chorus-demo)
          --run ID       the run id (default: oscar)
          --data DIR     where the bundled data is (default: $CHORUS_DATA, else found
                         beside the working directory or the executable)
        """

    static func run(_ arguments: inout Arguments) throws -> Int32 {
        let out = try arguments.option("out") ?? "chorus-demo"
        let runID = try arguments.option("run") ?? "oscar"
        let dataDirectory = try arguments.option("data")
        var files = arguments.positionalArguments()
        try arguments.finish()
        var expectedPath: String?
        if files.isEmpty {
            let directory = try bundledData(dataDirectory)
            files = ["oscar_rank0.jsonl", "oscar_rank1.jsonl"].map { "\(directory)/\($0)" }
            expectedPath = "\(directory)/oscar_expected.json"
        }
        for file in files where !FileManager.default.isReadableFile(atPath: file) {
            throw UsageError("cannot read \(file)")
        }
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let storePath = "\(out)/chorus.sqlite"
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: storePath + suffix) }

        var configuration = CollectorConfiguration(endpoints: ["tcp://127.0.0.1:*"], storePath: storePath)
        configuration.logger = Logger(minimumLevel: .warning)
        let collector = try Collector(configuration: configuration)
        try collector.start()
        let endpoint = collector.boundEndpoints[0]
        printLine("collector listening on \(endpoint), storing to \(storePath)")

        let lineCount = try files.reduce(0) { $0 + (try RankFile(path: $1).lines.count) }
        let workers = try files.enumerated().map { rank, file in
            try startWorker(rank: rank, worldSize: files.count, file: file, runID: runID, endpoint: endpoint)
        }
        printLine("started \(workers.count) rank processes replaying \(lineCount) logged lines")
        let finished = try showProgress(collector: collector, workers: workers, storePath: storePath, runID: runID)
        collector.stop()
        collector.waitUntilStopped()
        if let failure = collector.failure { throw ReplayError("the collector failed: \(failure)") }
        let failedWorkers = workers.filter { $0.terminationStatus != 0 }
        if !failedWorkers.isEmpty || !finished {
            printError("chorus demo: \(failedWorkers.count) rank process(es) failed; the run did not finish")
            return 1
        }

        let reader = try StoreReader(path: storePath)
        let exports = try writeExports(reader: reader, runID: runID, to: out)
        printLine("")
        printLine(try SummaryTable.render(reader: reader, run: runID))
        printLine("")
        printLine("store:   \(storePath)   (query it with sqlite3; see README.md)")
        for export in exports { printLine("export:  \(export)") }
        guard let expectedPath else { return 0 }
        let differences = try ExpectedMerge.compare(reader: reader, run: runID, expectedPath: expectedPath)
        if differences.isEmpty {
            printLine("check:   the merge equals \(expectedPath)")
            return 0
        }
        printError(
            "check: the merge differs from \(expectedPath):\n  " + differences.prefix(20).joined(separator: "\n  "))
        return 1
    }

    /// Finds the bundled Oscar data.
    static func bundledData(_ given: String?) throws -> String {
        var candidates: [String] = []
        if let given { candidates.append(given) }
        if let fromEnvironment = ProcessInfo.processInfo.environment["CHORUS_DATA"] {
            candidates.append(fromEnvironment)
        }
        candidates.append(FileManager.default.currentDirectoryPath + "/Data/oscar")
        var directory = URL(fileURLWithPath: executablePath()).deletingLastPathComponent()
        for _ in 0..<5 {
            candidates.append(directory.appendingPathComponent("Data/oscar").path)
            directory.deleteLastPathComponent()
        }
        guard let found = candidates.first(where: { FileManager.default.fileExists(atPath: "\($0)/oscar_rank0.jsonl") })
        else {
            throw UsageError("cannot find the bundled data (Data/oscar); run from the repository or pass --data DIR")
        }
        return found
    }

    /// This executable's path.
    static func executablePath() -> String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }

    private static func startWorker(rank: Int, worldSize: Int, file: String, runID: String, endpoint: String) throws
        -> Process
    {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executablePath())
        process.arguments = [
            "replay", "--endpoint", endpoint, "--run", runID, "--world-size", String(worldSize), "--rank", String(rank),
            file,
        ]
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        return process
    }

    /// Prints progress until every worker has exited and the run has finished.
    /// - Returns: whether the run finished.
    private static func showProgress(collector: Collector, workers: [Process], storePath: String, runID: String)
        throws -> Bool
    {
        var lastLine = ""
        var exitedAt: Date?
        while true {
            Thread.sleep(forTimeInterval: 0.5)
            collector.sync()
            let reader = try StoreReader(path: storePath)
            let run = try? reader.run(runID)
            let running = workers.filter(\.isRunning).count
            let line =
                "  records \(run?.received ?? 0) · rows \(run?.rows ?? 0) · steps complete "
                + "\(run?.completedSteps ?? 0) · rank processes running \(running)"
            if line != lastLine {
                printLine(line)
                lastLine = line
            }
            if run?.finished == true && running == 0 { return true }
            if running == 0 {
                exitedAt = exitedAt ?? Date()
                if Date().timeIntervalSince(exitedAt!) > 10 { return false }
            }
        }
    }

    private static func writeExports(reader: StoreReader, runID: String, to directory: String) throws -> [String] {
        let exporter = try Exporter(reader: reader, run: runID)
        let targets: [(ExportTable, ExportFormat, String)] = [
            (.history, .jsonl, "history.jsonl"), (.history, .csv, "history.csv"), (.steps, .jsonl, "steps.jsonl"),
            (.summary, .json, "summary.json"),
        ]
        return try targets.map { table, format, file in
            let path = "\(directory)/\(file)"
            try ExportCommand.write(exporter: exporter, table: table, format: format, to: path)
            return path
        }
    }
}

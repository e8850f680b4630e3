import ChorusClient
import ChorusCore
import Foundation

/// `chorus replay`: pushes per-rank log files to a running collector through the Swift client.
enum ReplayCommand: Command {
    static let name = "replay"
    static let summary = "send per-rank JSONL files (Chorus or wandb history) to a running collector"
    static let help = """
        Usage: chorus replay [options] FILE...

        Sends each FILE as one rank, through the Swift client, to the collector at the
        endpoint; the files' lines are interleaved as concurrent ranks would send them.
        A FILE holds one JSON object per line, either Chorus's
          {"rank": 0, "step": 100, "time": 1641165094, "data": {"loss": 0.04}}
        or a wandb history line
          {"_step": 100, "_timestamp": 1641165094.2, "loss": 0.04}

        Options:
          --endpoint ENDPOINT  the collector (default: $CHORUS_ENDPOINT, else tcp://127.0.0.1:7700)
          --run ID             the run id (default: $CHORUS_RUN_ID, else "replay")
          --world-size N       the ranks the run waits for (default: the number of files)
          --rank R             the rank of the only FILE (default: the file's "rank" field,
                               else its position among the files)
          --attempt A          the attempt (default 0)
          --resume-step S      replay only lines from step S on, as an attempt restored from a
                               checkpoint at S does (its hello names S as the resume step)
          --ack-endpoint E     where the collector acknowledges (default: $CHORUS_ACK_ENDPOINT,
                               else paired with --endpoint; `none` listens for none)
          --rate LINES         at most this many lines per second per file (default: no limit)
        """

    static func run(_ arguments: inout Arguments) throws -> Int32 {
        let environment = ProcessInfo.processInfo.environment
        let endpoint = try arguments.option("endpoint") ?? environment["CHORUS_ENDPOINT"] ?? "tcp://127.0.0.1:7700"
        let runID = try arguments.option("run") ?? environment["CHORUS_RUN_ID"] ?? "replay"
        let worldSize = try arguments.integer("world-size", in: Int32(1)...1_048_576)
        let rank = try arguments.integer("rank", in: Int32(0)...1_048_575)
        let attempt = try arguments.integer("attempt", in: Int64(0)...Int64.max) ?? 0
        let rate = try arguments.number("rate", in: 0.001...1e9)
        let resumeStep = try arguments.integer("resume-step", in: Int64(0)...Int64.max)
        let ackEndpoint = Run.Settings.acknowledgementEndpoint(
            try arguments.option("ack-endpoint") ?? environment["CHORUS_ACK_ENDPOINT"],
            pairedWith: endpoint
        )
        let paths = arguments.positionalArguments()
        try arguments.finish()
        guard !paths.isEmpty else { throw UsageError("name at least one FILE to replay") }
        if rank != nil && paths.count > 1 { throw UsageError("--rank goes with a single FILE") }

        let files = try paths.map { path in
            var file = try RankFile(path: path)
            if let resumeStep { file.lines.removeAll { $0.step < resumeStep } }
            return file
        }
        let runs = try files.enumerated().map { index, file in
            try Run(
                runID: runID,
                rank: rank ?? file.rank ?? Int32(index),
                worldSize: worldSize ?? Int32(files.count),
                attempt: attempt,
                resumeStep: resumeStep,
                endpoint: endpoint,
                ackEndpoint: ackEndpoint ?? "none",
                startTime: file.lines.first?.timestamp
            )
        }
        let sent = replay(files, through: runs, rate: rate)
        var complete = true
        for run in runs where !run.finish(timeout: 30) {
            let dropped = run.droppedMessages
            let outcome =
                dropped > 0
                ? "dropped \(dropped) messages (records the collector would refuse, or a queue that stayed full)"
                : "could not deliver everything within 30 s"
            printError("chorus replay: rank \(run.settings.rank) \(outcome)")
            complete = false
        }
        // Read after finish(): what a fault made the client send again, and what it could
        // not keep until confirmed, which tests and operators quote.
        let resent = runs.reduce(0) { $0 + $1.resentMessages }
        let unconfirmed = runs.reduce(0) { $0 + $1.unconfirmedRecords }
        printLine(
            "replayed \(sent) lines from \(files.count) file\(files.count == 1 ? "" : "s") "
                + "to \(endpoint) as run \(runID) · resent \(resent) · unconfirmed \(unconfirmed)"
        )
        return complete ? 0 : 1
    }

    /// Logs every file's lines through its run, one line of each file in turn.
    static func replay(_ files: [RankFile], through runs: [Run], rate: Double?) -> Int {
        var sent = 0
        let longest = files.map(\.lines.count).max() ?? 0
        let started = Date()
        for index in 0..<longest {
            for (file, run) in zip(files, runs) where index < file.lines.count {
                let line = file.lines[index]
                run.log(line.values, step: line.step, timestamp: line.timestamp)
                sent += 1
            }
            if let rate {
                let due = started.addingTimeInterval(Double(index + 1) / rate)
                if due > Date() { Thread.sleep(until: due) }
            }
        }
        return sent
    }
}

import ChorusStore
import Foundation

/// The store a command reads: `--store`, else `$CHORUS_STORE`, else `chorus.sqlite`.
func storePath(_ arguments: inout Arguments) throws -> String {
    try arguments.option("store") ?? ProcessInfo.processInfo.environment["CHORUS_STORE"] ?? "chorus.sqlite"
}

/// `chorus runs`: every run in a store, one line each.
enum RunsCommand: Command {
    static let name = "runs"
    static let summary = "list the runs in a store"
    static let help = """
        Usage: chorus runs [--store FILE]

        One line per run: its id, world size, rows, complete steps, records, and whether it
        finished. The store defaults to $CHORUS_STORE, else chorus.sqlite.
        """

    static func run(_ arguments: inout Arguments) throws -> Int32 {
        let path = try storePath(&arguments)
        try arguments.finish()
        let runs = try StoreReader(path: path).runs()
        var rows = [["run", "world", "rows", "steps", "records", "state"]]
        for run in runs {
            rows.append([
                run.name, run.worldSize.map(String.init) ?? "?", String(run.rows), String(run.completedSteps),
                String(run.received), run.finished ? "finished" : "live",
            ])
        }
        printLine(SummaryTable.align(rows).joined(separator: "\n"))
        return 0
    }
}

/// `chorus show`: one run's summary as a table.
enum ShowCommand: Command {
    static let name = "show"
    static let summary = "print a run's summary as a table"
    static let help = """
        Usage: chorus show --run ID [--store FILE]

        Per key: the first, last, smallest and largest value of the step-reduced series (each
        with its step), the mean of every raw value, how many values and how many were NaN or
        infinite; then the values the run set on its summary.
        """

    static func run(_ arguments: inout Arguments) throws -> Int32 {
        let path = try storePath(&arguments)
        guard let run = try arguments.option("run") else { throw UsageError("name the run with --run ID") }
        try arguments.finish()
        printLine(try SummaryTable.render(reader: StoreReader(path: path), run: run))
        return 0
    }
}

/// `chorus status`: live runs, their ranks, and what was late, duplicated, rejected or lost.
enum StatusCommand: Command {
    static let name = "status"
    static let summary = "show live runs: ranks and their state, steps, late, duplicate and rejected counts"
    static let help = """
        Usage: chorus status [--run ID] [--store FILE]

        Reads what the collector last wrote (it does so every commit, about 20 times a second)
        and prints per run its counters, and per rank its state (active, finished, lost), last
        step, and for each of its incarnations: records received, the highest sequence number
        known, the durable one (every record up to it is committed: what the collector
        acknowledges), duplicates, late records, the sequence numbers skipped (dropped or refused
        records, which nothing will fill) and the sequence numbers still missing.
        """

    static func run(_ arguments: inout Arguments) throws -> Int32 {
        let path = try storePath(&arguments)
        let only = try arguments.option("run")
        try arguments.finish()
        let reader = try StoreReader(path: path)
        var runs = try reader.runs()
        if let only { runs = [try reader.run(only)] }
        let now = Date().timeIntervalSince1970
        // Messages no run can be charged with are shown when every run is.
        let rejections = only == nil ? try reader.rejections() : []
        if !rejections.isEmpty {
            let total = rejections.reduce(0) { $0 + $1.count }
            printLine(
                "all runs · rejected \(total) · "
                    + rejections.map { "\($0.reason) \($0.count)" }.joined(separator: ", ")
            )
            if let last = rejections.max(by: { $0.lastAt < $1.lastAt }) {
                printLine(
                    "  last: \(last.lastError)" + (last.lastSender.map { " from \($0)" } ?? "")
                        + String(format: ", %.1f s ago", now - last.lastAt)
                )
            }
        }
        if runs.isEmpty { printLine("no runs in \(path)") }
        for run in runs {
            let age = run.updatedAt.map { String(format: "%.1f s ago", now - $0) } ?? "never"
            printLine(
                "run \(run.name) [\(run.finished ? "finished" : "live")] "
                    + "world size \(run.worldSize.map(String.init) ?? "?")"
                    + " · updated \(age)"
            )
            printLine(
                "  records \(run.received) · duplicates \(run.duplicates) · late \(run.late) "
                    + "· rejected \(run.rejected)"
                    + " · rows \(run.rows) · steps complete \(run.completedSteps) · open \(run.openSteps)"
                    + " (most \(run.maxOpenStepsSeen))"
            )
            var rows = [
                [
                    "rank", "state", "last step", "heard", "incarnation", "attempt", "records", "last seq", "durable",
                    "dup", "late", "skipped", "gaps",
                ]
            ]
            for rank in try reader.ranks(run: run.name) {
                let heard = rank.lastHeard.map { String(format: "%.1f s ago", now - $0) } ?? "-"
                let incarnations = rank.incarnations.isEmpty ? [nil] : rank.incarnations.map(Optional.some)
                for (index, incarnation) in incarnations.enumerated() {
                    rows.append([
                        index == 0 ? String(rank.rank) : "", index == 0 ? rank.status : "",
                        index == 0 ? rank.lastStep.map(String.init) ?? "-" : "", index == 0 ? heard : "",
                        incarnation.map { String($0.id.prefix(12)) } ?? "-",
                        incarnation.map { String($0.attempt) } ?? "-", incarnation.map { String($0.received) } ?? "-",
                        incarnation.map { String($0.lastSequenceNumber) } ?? "-",
                        incarnation.map { String($0.durableSequenceNumber) } ?? "-",
                        incarnation.map { String($0.duplicates) } ?? "-", incarnation.map { String($0.late) } ?? "-",
                        incarnation.map { String($0.skipped) } ?? "-",
                        incarnation.map { $0.gaps.isEmpty ? "none" : $0.gaps } ?? "-",
                    ])
                }
            }
            printLine(SummaryTable.align(rows).map { "  " + $0 }.joined(separator: "\n"))
        }
        return 0
    }
}

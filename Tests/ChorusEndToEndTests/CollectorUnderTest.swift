import ChorusCore
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A `chorus collect` daemon a test started, with its endpoint and store.
final class CollectorUnderTest {
    let process: ChorusProcess
    let endpoint: String
    let store: String
    private let scratch: Scratch
    private let options: [String]

    /// Starts `chorus collect` on a fresh endpoint of `transport` with a store in `scratch`,
    /// and returns once it logs that it is listening.
    ///
    /// A tcp port found free can be taken by someone else before the collector binds it, so a
    /// bind that fails with "Address already in use" is retried on another port.
    convenience init(_ transport: Transport, in scratch: Scratch, options: [String] = []) throws {
        try self.init(in: scratch, store: scratch.path("chorus.sqlite"), options: options, tries: 5) {
            try transport.endpoint(in: scratch)
        }
    }

    /// Starts `chorus collect` on exactly `endpoint` (a tcp port already chosen, or the
    /// endpoint of a collector that died), with `store` or a fresh one in `scratch`.
    convenience init(endpoint: String, store: String? = nil, in scratch: Scratch, options: [String] = []) throws {
        try self.init(in: scratch, store: store ?? scratch.path("chorus.sqlite"), options: options, tries: 1) {
            endpoint
        }
    }

    private init(
        in scratch: Scratch,
        store: String,
        options: [String],
        tries: Int,
        endpoint makeEndpoint: () throws -> String
    ) throws {
        self.scratch = scratch
        self.store = store
        self.options = options
        var attempt = 0
        while true {
            attempt += 1
            let endpoint = try makeEndpoint()
            let arguments = ["collect", "--bind", endpoint, "--store", store] + options
            let process = try ChorusProcess(chorus: arguments, in: scratch)
            try ChorusProcess.poll("`chorus collect --bind \(endpoint)` to listen", timeout: 60) {
                !process.isRunning || process.standardError.contains("collector listening")
            }
            if process.isRunning {
                self.process = process
                self.endpoint = endpoint
                return
            }
            let status = try process.wait(timeout: 10)
            if attempt < tries && process.standardError.contains("Address already in use") { continue }
            throw ProcessFailure("`\(process.commandLine)` exited \(status) at start:\n\(process.standardError)")
        }
    }

    /// Starts a new collector on this one's endpoint, store and options, as a supervisor
    /// restarts a collector that died; this one must have exited.
    func restarted() throws -> CollectorUnderTest {
        precondition(!process.isRunning, "restart a collector only once it has exited")
        return try CollectorUnderTest(endpoint: endpoint, store: store, in: scratch, options: options)
    }

    deinit {
        process.kill()
    }

    /// SIGKILLs the collector if it still runs.
    func kill() {
        process.kill()
    }

    /// Sends `signal` and waits for the collector to exit.
    /// - Returns: its exit status.
    func stop(_ signal: Int32 = SIGTERM, timeout: Double = 90) throws -> Int32 {
        process.send(signal)
        return try process.wait(timeout: timeout)
    }

    /// What `chorus status --run` prints now, or nil while the store or the run does not exist yet.
    func status(run: String) throws -> StatusReport? {
        let outcome = try ChorusProcess.run(["status", "--store", store, "--run", run], in: scratch)
        guard outcome.status == 0 else { return nil }
        return StatusReport(outcome.standardOutput)
    }

    /// Every rejected message, charged to a run or not, as `chorus status` shows it on its
    /// `all runs` line (0 without one), with the text it printed.
    func rejectedInAllRuns() throws -> (count: Int, text: String) {
        let everything = try ChorusProcess.output(["status", "--store", store], in: scratch)
        let line = everything.split(separator: "\n").first { $0.hasPrefix("all runs") } ?? ""
        let count = line.split(separator: "·").compactMap { part -> Int? in
            let words = part.split(separator: " ")
            return words.first == "rejected" && words.count > 1 ? Int(words[1]) : nil
        }.first
        return (count ?? 0, everything)
    }

    /// Polls `chorus status --run` until `condition` holds.
    /// - Returns: the report that satisfied it.
    /// - Throws: ``ProcessFailure`` with the last report if it never did within `timeout`.
    @discardableResult
    func waitForStatus(
        run: String,
        timeout: Double = 90,
        _ what: String,
        until condition: (StatusReport) -> Bool
    ) throws -> StatusReport {
        var last: StatusReport?
        do {
            // Each poll starts a `chorus status` process, so poll gently on a small machine.
            try ChorusProcess.poll("\(what) (run \(run))", timeout: timeout, every: 0.2) {
                guard process.isRunning else {
                    throw ProcessFailure("the collector exited early:\n\(process.standardError)")
                }
                last = try status(run: run)
                return last.map(condition) ?? false
            }
        } catch {
            throw ProcessFailure("\(error); last status:\n\(last?.text ?? "none")")
        }
        return last!
    }

    /// The rows `sql` selects from the store, read with the `sqlite3` shell (the store is in
    /// WAL mode, so this reads the last commit while the collector runs), each a list of
    /// fields; NULL reads as "".
    func query(_ sql: String) throws -> [[String]] {
        let child = try ChorusProcess(
            executable: "/usr/bin/env",
            ["sqlite3", "-readonly", "-separator", "|", store, sql],
            in: scratch,
            label: "sqlite3"
        )
        defer { child.kill() }
        let status = try child.wait(timeout: 60)
        guard status == 0 else {
            throw ProcessFailure("`sqlite3 \(store) \"\(sql)\"` exited \(status):\n\(child.standardError)")
        }
        return child.standardOutput.split(separator: "\n").map {
            $0.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
        }
    }

    /// The exported `table` of `run` as JSON Lines, parsed.
    func exportLines(run: String, table: String) throws -> [[String: JSONValue]] {
        try ExportReading.lines(try export(run: run, table: table, format: "jsonl"), "\(table).jsonl")
    }

    /// Runs `chorus export` of `table` in `format` from this collector's store.
    func export(run: String, table: String, format: String) throws -> String {
        try ChorusProcess.output(
            ["export", "--store", store, "--run", run, "--table", table, "--format", format],
            in: scratch
        )
    }
}

/// `chorus status --run ID` as read back: the run's counters and each rank's state.
struct StatusReport {
    /// The text as printed.
    let text: String
    /// Whether the header says `[finished]`.
    let finished: Bool
    /// Counters by the name `status` prints (`records`, `duplicates`, `late`, `rejected`, `rows`,
    /// `steps complete`, `open`).
    let counters: [String: Int]
    /// Each rank's state (`active`, `finished`, `lost`).
    let rankStates: [Int: String]

    init(_ text: String) {
        self.text = text
        let lines = text.split(separator: "\n").map(String.init)
        finished = lines.first?.contains("[finished]") ?? false
        var counters: [String: Int] = [:]
        var rankStates: [Int: String] = [:]
        for line in lines {
            if line.contains(" · ") && line.contains("records") {
                for part in line.split(separator: "·") {
                    let words = part.split(separator: " ")
                    guard let index = words.firstIndex(where: { Int($0) != nil }) else { continue }
                    counters[words[..<index].joined(separator: " ")] = Int(words[index])
                }
                continue
            }
            let words = line.split(separator: " ")
            if words.count >= 2, let rank = Int(words[0]) {
                rankStates[rank] = String(words[1])
            }
        }
        self.counters = counters
        self.rankStates = rankStates
    }

    /// A counter, or -1 if the report does not show it (so comparisons fail visibly).
    subscript(counter: String) -> Int {
        counters[counter] ?? -1
    }
}

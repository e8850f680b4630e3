import ChorusCore
import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Faults caused for real while two paced `chorus replay` ranks run: a collector SIGKILLed
/// and restarted, a worker SIGKILLed and resumed from a checkpoint, the network cut, a
/// connection reset. Each run must end with the history, step reductions and summary the
/// same run has without the fault, and prints a `FAULT FIGURES` line saying how hard it was.
// One at a time: each paces two workers against the wall clock and injects its faults at
// set moments, which a 2-vCPU machine busy with the others would blur.
@Suite("faults: killed processes, restarts, cut and reset connections", .serialized)
struct FaultTests {
    /// Lines per rank; at ``rate`` lines a second a run lasts 8 s.
    static let steps = 800
    /// Lines a second each replay sends.
    static let rate = 100

    /// ``steps`` steps × 2 ranks with seeded losses, an integer count, a key only rank 0
    /// logs now and then, and a string only rank 1 logs.
    static func pacedLog(seed: UInt64) -> RankLog {
        var generator = SeededGenerator(seed: seed)
        var lines: [RankLog.Line] = []
        for step in 0..<steps {
            for rank in 0..<2 {
                var values: [String: JSONValue] = [
                    "loss": .double(Double.random(in: 0..<4, using: &generator)),
                    "tokens": .integer(1_000 * Int64(step) + Int64(rank)),
                ]
                if rank == 0 && step % 50 == 0 { values["val/acc"] = .double(Double(step) / 1_000) }
                if rank == 1 && step % 100 == 0 { values["phase"] = .string("epoch-\(step / 100)") }
                lines.append(
                    RankLog.Line(rank: rank, step: Int64(step), time: 1.7e9 + Double(step) / 2, values: values))
            }
        }
        return RankLog(lines: lines)
    }

    /// The arguments of a paced `chorus replay` of one rank's file.
    static func replayArguments(_ file: String, rank: Int, run: String, endpoint: String, _ extra: [String] = [])
        -> [String]
    {
        [
            "replay", "--endpoint", endpoint, "--run", run, "--world-size", "2", "--rank", String(rank), "--rate",
            String(rate),
        ] + extra + [file]
    }

    @Test("a collector SIGKILLed three times at random moments and restarted ends with the fault-free result")
    func collectorKilledAndRestarted() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let run = "fault-collector-kill"
        let log = Self.pacedLog(seed: 1)
        let files = try log.write(to: scratch)
        var collector = try CollectorUnderTest(.tcp, in: scratch)
        defer { collector.kill() }
        let workers = try files.enumerated().map { rank, file in
            try ChorusProcess(
                chorus: Self.replayArguments(file, rank: rank, run: run, endpoint: collector.endpoint),
                in: scratch)
        }
        defer { workers.forEach { $0.kill() } }
        try collector.waitForStatus(run: run, "the first records") { $0["records"] > 0 }

        // One kill in each third of the run, at a seeded moment, each followed by a seeded pause.
        var generator = SeededGenerator(seed: 42)
        let started = Date()
        for fault in 0..<3 {
            let at = Double(fault) * 2.2 + Double.random(in: 0.3...1.8, using: &generator)
            Thread.sleep(until: started.addingTimeInterval(at))
            try #require(workers.allSatisfy { $0.isRunning }, "a replay ended before fault \(fault + 1)")
            collector.kill()
            Thread.sleep(forTimeInterval: Double.random(in: 0.1...0.5, using: &generator))
            // The same port again, for data and acknowledgements: ZeroMQ binds with SO_REUSEADDR.
            collector = try collector.restarted()
        }

        let outcome = try FaultOutcome(collector: collector, run: run, log: log, workers: workers)
        #expect(outcome.duplicates > 0 || outcome.resent > 0, "no fault needed a resend:\n\(outcome.status.text)")
        try outcome.report("collector SIGKILL and restart", faults: 3)
    }

    @Test(
        "a worker SIGKILLed mid-run and restarted from its checkpoint ends with the fault-free result",
        arguments: [Int64(1), 0]
    )
    func workerKilledAndResumed(attempt: Int64) throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let run = "fault-worker-kill-attempt-\(attempt)"
        let log = Self.pacedLog(seed: 2 + UInt64(attempt))
        let files = try log.write(to: scratch)
        let collector = try CollectorUnderTest(.ipc, in: scratch)
        defer { collector.kill() }
        let arguments = files.enumerated().map { rank, file in
            Self.replayArguments(file, rank: rank, run: run, endpoint: collector.endpoint)
        }
        let survivor = try ChorusProcess(chorus: arguments[0], in: scratch)
        defer { survivor.kill() }
        let victim = try ChorusProcess(chorus: arguments[1], in: scratch)
        defer { victim.kill() }

        // The last step of rank 1 every record up to which is committed: where a checkpoint
        // may be restored from.
        let durableStep = """
            SELECT COALESCE(MAX(c.step), -1) FROM cells c JOIN runs r USING (run_id)
            JOIN incarnations i ON i.run_id = c.run_id AND i.incarnation = c.incarnation
            WHERE r.name = '\(run)' AND c.rank = 1 AND c.seq <= i.durable_seq
            """
        var generator = SeededGenerator(seed: 7 + UInt64(attempt))
        let killAt = Int.random(in: 200...400, using: &generator)
        try ChorusProcess.poll("rank 1 to reach step \(killAt)", timeout: 30, every: 0.1) {
            Int(try collector.query(durableStep).first?.first ?? "") ?? -1 >= killAt
        }
        victim.kill()
        // What reached the collector before the kill is committed within a commit interval.
        Thread.sleep(forTimeInterval: 0.5)
        let lastDurable = try #require(Int64(try collector.query(durableStep).first?.first ?? ""))
        // Checkpoints every 50 steps: the steps since the last one are logged a second time.
        let resumeStep = lastDurable - lastDurable % 50
        let resumed = try ChorusProcess(
            chorus: Self.replayArguments(
                files[1], rank: 1, run: run, endpoint: collector.endpoint,
                ["--attempt", String(attempt), "--resume-step", String(resumeStep)]
            ),
            in: scratch
        )
        defer { resumed.kill() }

        let outcome = try FaultOutcome(collector: collector, run: run, log: log, workers: [survivor, resumed])
        let incarnations = try collector.query(
            """
            SELECT i.attempt, i.received, i.last_seq, i.durable_seq, i.duplicates FROM incarnations i
            JOIN runs r USING (run_id) WHERE r.name = '\(run)' AND i.rank = 1 ORDER BY i.start_time
            """
        ).map { $0.compactMap { Int64($0) } }
        try #require(incarnations.count == 2, "rank 1 has incarnations \(incarnations)")
        let fresh = incarnations[1]
        let resent = Int64(Self.steps) - resumeStep
        #expect(
            fresh == [attempt, resent, resent, resent, 0],
            "the new incarnation's attempt, received, last seq, durable, dup: \(fresh)")
        #expect(
            outcome.duplicates == 0,
            "a record of the new incarnation was taken for a duplicate:\n\(outcome.status.text)")
        print(
            "FAULT DETAIL worker kill, attempt \(attempt): killed after step \(lastDurable), resumed at \(resumeStep)"
        )
        try outcome.report("worker SIGKILL, resumed as attempt \(attempt)", faults: 1)
    }

    @Test("the network cut for 12 s between workers and collector and restored ends with the fault-free result")
    func networkCutAndRestored() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let run = "fault-network-cut"
        let log = Self.pacedLog(seed: 4)
        let files = try log.write(to: scratch)
        let namespace = try NetworkNamespace(in: scratch)
        let collector = try CollectorUnderTest(
            endpoint: "tcp://\(namespace.outerAddress):\(try Transport.freePort())",
            in: scratch
        )
        defer { collector.kill() }
        let workers = try files.enumerated().map { rank, file in
            try namespace.chorus(
                Self.replayArguments(file, rank: rank, run: run, endpoint: collector.endpoint),
                in: scratch)
        }
        defer { workers.forEach { $0.kill() } }
        try collector.waitForStatus(run: run, "the first records") { $0["records"] > 0 }

        var generator = SeededGenerator(seed: 5)
        Thread.sleep(forTimeInterval: Double.random(in: 0.5...1.5, using: &generator))
        try namespace.cut()
        // Longer than the 3 s after which the clients' pings give the acknowledgement
        // connection up, and than the ~10 s after which the collector's keepalive probes drop
        // the data connections: what the workers still send into them is lost, as on a real cut.
        Thread.sleep(forTimeInterval: 12)
        try namespace.restore()

        let outcome = try FaultOutcome(collector: collector, run: run, log: log, workers: workers)
        #expect(outcome.resent > 0, "the cut lost nothing, so it tested nothing:\n\(outcome.status.text)")
        try outcome.report("network cut 12 s", faults: 1)
    }

    @Test("a proxy between workers and collector stalled and killed twice ends with the fault-free result")
    func connectionsReset() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let run = "fault-proxy-kill"
        let log = Self.pacedLog(seed: 6)
        let files = try log.write(to: scratch)
        let collector = try CollectorUnderTest(.tcp, in: scratch)
        defer { collector.kill() }
        let port = try #require(collector.endpoint.split(separator: ":").last.flatMap { UInt16($0) })
        let proxy = try TCPProxy(to: [("127.0.0.1", port), ("127.0.0.1", port + 1)], in: scratch)
        let through = ["tcp://127.0.0.1:\(proxy.ports[0])", "tcp://127.0.0.1:\(proxy.ports[1])"]
        let workers = try files.enumerated().map { rank, file in
            try ChorusProcess(
                chorus: Self.replayArguments(
                    file, rank: rank, run: run, endpoint: through[0],
                    ["--ack-endpoint", through[1]]),
                in: scratch
            )
        }
        defer { workers.forEach { $0.kill() } }
        try collector.waitForStatus(run: run, "the first records") { $0["records"] > 0 }

        var generator = SeededGenerator(seed: 8)
        let started = Date()
        for fault in 0..<2 {
            Thread.sleep(
                until: started.addingTimeInterval(Double(fault) * 3 + Double.random(in: 0.2...1.2, using: &generator)))
            try #require(workers.allSatisfy { $0.isRunning }, "a replay ended before fault \(fault + 1)")
            proxy.stallAndKill(stalled: 1)
            Thread.sleep(forTimeInterval: Double.random(in: 0.1...0.5, using: &generator))
            try proxy.restart()
        }

        let outcome = try FaultOutcome(collector: collector, run: run, log: log, workers: workers)
        #expect(outcome.resent > 0, "the resets lost nothing, so they tested nothing:\n\(outcome.status.text)")
        try outcome.report("proxy stalled and SIGKILLed", faults: 2)
    }
}

/// How a run that met faults ended: its workers' exits, its status and its exports.
struct FaultOutcome {
    let collector: CollectorUnderTest
    let run: String
    let status: StatusReport
    /// Messages the workers that finished sent again, as `chorus replay` reports them.
    let resent: Int
    /// Records the collector received twice and ignored.
    var duplicates: Int { status["duplicates"] }

    /// Waits for `workers` to exit 0 (each replay's `finish()` confirmed everything), for the
    /// run to finish, and stops the collector; then checks the exports against `log`.
    init(collector: CollectorUnderTest, run: String, log: RankLog, workers: [ChorusProcess]) throws {
        var resent = 0
        for worker in workers {
            let status = try worker.wait(timeout: 60)
            #expect(status == 0, "`\(worker.commandLine)` exited \(status):\n\(worker.standardError)")
            let line = worker.standardOutput.split(separator: "\n").first { $0.hasPrefix("replayed ") } ?? ""
            let words = line.split(separator: " ")
            resent += words.firstIndex(of: "resent").flatMap { Int(words[$0 + 1]) } ?? 0
        }
        try collector.waitForStatus(run: run, timeout: 30, "a finished run") { $0.finished }
        #expect(try collector.stop(SIGTERM) == 0, "the collector must exit 0 on SIGTERM")
        self.collector = collector
        self.run = run
        self.resent = resent
        status = try #require(try collector.status(run: run))
        #expect(status["rows"] == log.lines.count, "rows:\n\(status.text)")
        try RunExportCheck(collector: collector, run: run, log: log).all()
    }

    /// Prints the figures a closing note quotes.
    func report(_ fault: String, faults: Int) throws {
        let sent =
            try collector.query(
                "SELECT SUM(i.last_seq) FROM incarnations i JOIN runs r USING (run_id) WHERE r.name = '\(run)'"
            ).first?.first ?? "?"
        let rows = try collector.exportLines(run: run, table: "history").count
        print(
            "FAULT FIGURES \(fault): faults \(faults) · records sent \(sent) · resent \(resent) "
                + "· duplicates \(duplicates) · late \(status["late"]) · history rows \(rows)"
        )
    }
}

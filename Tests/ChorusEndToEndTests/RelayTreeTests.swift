import ChorusCore
import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A tree of `chorus relay` processes in front of one collector must give exactly what the
/// same ranks give sending to a collector directly: the relays forward records, they do not
/// reduce them, so not even rounding may differ.
@Suite("relay trees: the same history, reductions and summary as sending directly", .serialized)
struct RelayTreeTests {
    static let run = "relay-tree"

    /// Four ranks over 120 steps with seeded values, a NaN, an integer, a string, and an
    /// evaluation key rank 0 logs now and then.
    static func log() -> RankLog {
        var generator = SeededGenerator(seed: 7)
        var lines: [RankLog.Line] = []
        for step in 0..<120 {
            for rank in 0..<4 {
                var values: [String: JSONValue] = [
                    "loss": .double(step == 33 && rank == 2 ? .nan : Double.random(in: 0..<4, using: &generator)),
                    "tokens": .integer(1_000 * Int64(step) + Int64(rank)),
                ]
                if rank == 0 && step % 10 == 0 { values["val/acc"] = .double(Double(step) / 200) }
                if rank == 3 && step % 40 == 0 { values["phase"] = .string("epoch-\(step / 40)") }
                lines.append(RankLog.Line(rank: rank, step: Int64(step), time: 1.7e9 + Double(step), values: values))
            }
        }
        return RankLog(lines: lines)
    }

    /// The ranks' processes, run the same way against any endpoint per rank: every rank at
    /// once (rank 2 slower, so that steps wait for it and its data comes late), rank 3 dying
    /// at step 90 and coming back as attempt 1 from a checkpoint at step 80, and rank 1's
    /// file sent twice by the same process (duplicates of nothing: a new incarnation).
    static func runRanks(files: [String], endpoints: [String], in scratch: Scratch) throws {
        let truncated = try scratch.write(
            "rank3-until-90.jsonl",
            try String(contentsOfFile: files[3], encoding: .utf8).split(separator: "\n").prefix(90)
                .joined(separator: "\n") + "\n"
        )
        func replay(_ file: String, rank: Int, _ extra: [String] = []) throws -> ChorusProcess {
            try ChorusProcess(
                chorus: [
                    "replay", "--endpoint", endpoints[rank], "--run", run, "--world-size", "4", "--rank", String(rank),
                ] + extra + [file],
                in: scratch
            )
        }
        let first = [
            try replay(files[0], rank: 0), try replay(files[1], rank: 1),
            try replay(files[2], rank: 2, ["--rate", "400"]), try replay(truncated, rank: 3),
        ]
        try expectSuccess(first)
        try expectSuccess([
            try replay(files[3], rank: 3, ["--attempt", "1", "--resume-step", "80"]),
            try replay(files[1], rank: 1),
        ])
    }

    static func expectSuccess(_ workers: [ChorusProcess]) throws {
        for worker in workers {
            let status = try worker.wait(timeout: 120)
            #expect(status == 0, "`\(worker.commandLine)` exited \(status):\n\(worker.standardError)")
        }
    }

    /// The history, steps and summary of `run` as `chorus export` writes them.
    static func exports(_ collector: CollectorUnderTest, run: String = run) throws -> [String: String] {
        var texts: [String: String] = [:]
        for (table, format) in [("history", "jsonl"), ("steps", "jsonl"), ("summary", "json")] {
            texts[table] = try collector.export(run: run, table: table, format: format)
        }
        return texts
    }

    @Test("two relays in their own processes forward four ranks: the collector's result equals direct sending")
    func treeEqualsDirect() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let files = try Self.log().write(to: scratch)

        let directScratch = try Scratch()
        defer { directScratch.remove() }
        let direct = try CollectorUnderTest(.tcp, in: directScratch)
        defer { direct.kill() }
        try Self.runRanks(files: files, endpoints: Array(repeating: direct.endpoint, count: 4), in: directScratch)

        let upstream = try CollectorUnderTest(.tcp, in: scratch)
        defer { upstream.kill() }
        let relays = try ["node-a", "node-b"].map { node in
            let endpoint = "ipc://" + scratch.path("\(node).sock")
            let relay = try Self.startRelay(
                ["relay", "--upstream", upstream.endpoint, "--bind", endpoint, "--id", node], in: scratch)
            return (endpoint, relay)
        }
        defer { relays.forEach { $0.1.kill() } }
        let endpoints = [relays[0].0, relays[0].0, relays[1].0, relays[1].0]
        try Self.runRanks(files: files, endpoints: endpoints, in: scratch)

        for collector in [direct, upstream] {
            try collector.waitForStatus(run: Self.run, timeout: 30, "a finished run") { $0.finished }
        }
        for (_, relay) in relays { relay.send(SIGTERM) }
        for (_, relay) in relays { #expect(try relay.wait(timeout: 30) == 0, "\(relay.standardError)") }
        #expect(try direct.stop(SIGTERM) == 0)
        #expect(try upstream.stop(SIGTERM) == 0)

        let reference = try Self.exports(direct)
        let tree = try Self.exports(upstream)
        #expect(try #require(reference["history"]).split(separator: "\n").count == 4 * 120)
        for table in ["history", "steps", "summary"] {
            let mine = tree[table] ?? ""
            let theirs = reference[table] ?? ""
            let difference = zip(mine.split(separator: "\n"), theirs.split(separator: "\n")).first { $0 != $1 }
            #expect(mine == theirs, "\(table) differs: \(difference.map { "\($0.0)\n  vs\n\($0.1)" } ?? "in length")")
        }
        let directStatus = try #require(try direct.status(run: Self.run))
        let treeStatus = try #require(try upstream.status(run: Self.run))
        for counter in ["records", "rows", "duplicates", "late"] {
            #expect(
                treeStatus[counter] == directStatus[counter], "\(counter): \(treeStatus.text) vs \(directStatus.text)")
        }

        // The collector saw the relays' batches, far fewer than the messages in them.
        let stopped = try #require(
            upstream.process.standardError.split(separator: "\n").first { $0.contains("collector stopped") })
        let fields = Self.numbers(inLogLine: stopped)
        let messages = try #require(fields["messages"])
        let frames = try #require(fields["frames"])
        #expect(messages > 4 * 120 && frames * 5 < messages, "\(stopped)")
        print("RELAY FIGURES tree of 2 relays, 4 ranks: \(messages) messages upstream in \(frames) frames")
    }

    @Test("a relay SIGKILLed mid-run and restarted loses nothing: the ranks send again")
    func relayKilled() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        // Two ranks: what the run must hold is then worked out from the lines alone.
        let log = RankLog(lines: Self.log().lines.filter { $0.rank < 2 })
        let files = try log.write(to: scratch)
        let upstream = try CollectorUnderTest(.tcp, in: scratch)
        defer { upstream.kill() }
        let endpoint = "ipc://" + scratch.path("node.sock")
        // Batches held for a second, so that the kill surely takes records with it.
        let arguments = [
            "relay", "--upstream", upstream.endpoint, "--bind", endpoint, "--id", "node", "--batch-interval", "1",
        ]
        var relay = try Self.startRelay(arguments, in: scratch)
        defer { relay.kill() }
        let workers = try Self.pacedReplays(files, endpoint: endpoint, in: scratch)
        defer { workers.forEach { $0.kill() } }
        try upstream.waitForStatus(run: Self.run, "the first records") { $0["records"] > 20 }
        relay.kill()
        Thread.sleep(forTimeInterval: 0.5)
        relay = try Self.startRelay(arguments, in: scratch)
        try Self.expectSuccess(workers)
        let resent = Self.resent(by: workers)
        print("RELAY FIGURES relay SIGKILLed and restarted: \(log.lines.count) records, \(resent) sent again")
        try upstream.waitForStatus(run: Self.run, timeout: 30, "a finished run") { $0.finished }
        #expect(try upstream.stop(SIGTERM) == 0)
        try RunExportCheck(collector: upstream, run: Self.run, log: log).all()
    }

    @Test("a collector SIGKILLed behind a relay and restarted loses nothing: its new acks reach the ranks")
    func collectorKilledBehindRelay() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let log = RankLog(lines: Self.log().lines.filter { $0.rank < 2 })
        let files = try log.write(to: scratch)
        var upstream = try CollectorUnderTest(.tcp, in: scratch)
        defer { upstream.kill() }
        let endpoint = "ipc://" + scratch.path("node.sock")
        let relay = try Self.startRelay(
            ["relay", "--upstream", upstream.endpoint, "--bind", endpoint, "--id", "node"], in: scratch)
        defer { relay.kill() }
        let workers = try Self.pacedReplays(files, endpoint: endpoint, in: scratch)
        defer { workers.forEach { $0.kill() } }
        try upstream.waitForStatus(run: Self.run, "the first records") { $0["records"] > 20 }
        upstream.kill()
        _ = try upstream.process.wait(timeout: 10)
        // Records the ranks send meanwhile wait in the relay's queue to the collector, or are lost
        // with the dead connection; the restarted collector's new id makes the ranks send again.
        Thread.sleep(forTimeInterval: 0.5)
        upstream = try upstream.restarted()
        try Self.expectSuccess(workers)
        let resent = Self.resent(by: workers)
        #expect(resent > 0, "no rank heard the restarted collector through the relay")
        print("RELAY FIGURES collector SIGKILLed behind a relay: \(log.lines.count) records, \(resent) sent again")
        try upstream.waitForStatus(run: Self.run, timeout: 30, "a finished run") { $0.finished }
        relay.send(SIGTERM)
        #expect(try relay.wait(timeout: 30) == 0, "\(relay.standardError)")
        #expect(try upstream.stop(SIGTERM) == 0)
        try RunExportCheck(collector: upstream, run: Self.run, log: log).all()
    }

    @Test("a relay reaches a collector that runs with CURVE with its own key pair, its ranks in the clear")
    func curveUpstream() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let log = RankLog(lines: Self.log().lines.filter { $0.rank < 2 && $0.step < 40 })
        let files = try log.write(to: scratch)
        for name in ["collector", "relay"] {
            _ = try ChorusProcess.output(["keygen", "--out", scratch.path(name)], in: scratch)
        }
        let upstream = try CollectorUnderTest(
            .tcp, in: scratch,
            options: [
                "--curve-secret-key-file", scratch.path("collector.key"), "--allow-keys-file",
                scratch.path("relay.pub"),
            ])
        defer { upstream.kill() }
        let serverKey = try String(contentsOfFile: scratch.path("collector.pub"), encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let endpoint = "ipc://" + scratch.path("node.sock")
        let relay = try Self.startRelay(
            [
                "relay", "--upstream", upstream.endpoint, "--bind", endpoint, "--id", "node",
                "--upstream-server-key", serverKey, "--upstream-secret-key-file", scratch.path("relay.key"),
            ],
            in: scratch
        )
        defer { relay.kill() }
        let sent = try ChorusProcess.run(
            ["replay", "--endpoint", endpoint, "--run", Self.run] + files, in: scratch, timeout: 120)
        #expect(sent.status == 0, "\(sent.standardError)")
        #expect(sent.standardOutput.contains("unconfirmed 0"), "\(sent.standardOutput)")
        try upstream.waitForStatus(run: Self.run, timeout: 30, "a finished run") { $0.finished }
        relay.send(SIGTERM)
        #expect(try relay.wait(timeout: 30) == 0, "\(relay.standardError)")
        #expect(try upstream.stop(SIGTERM) == 0)
        try RunExportCheck(collector: upstream, run: Self.run, log: log).all()
    }

    /// Starts `chorus relay` with `arguments` and returns once it listens (or has exited).
    static func startRelay(_ arguments: [String], in scratch: Scratch) throws -> ChorusProcess {
        let relay = try ChorusProcess(chorus: arguments, in: scratch)
        try ChorusProcess.poll("`chorus \(arguments.joined(separator: " "))` to listen", timeout: 60) {
            relay.standardError.contains("relay listening") || !relay.isRunning
        }
        return relay
    }

    /// One `chorus replay` per file, rank by position, 40 lines a second, so that a fault
    /// injected a second or two in lands mid-run.
    static func pacedReplays(_ files: [String], endpoint: String, in scratch: Scratch) throws -> [ChorusProcess] {
        try files.enumerated().map { rank, file in
            try ChorusProcess(
                chorus: [
                    "replay", "--endpoint", endpoint, "--run", run, "--world-size", String(files.count),
                    "--rank", String(rank), "--rate", "40", file,
                ],
                in: scratch
            )
        }
    }

    /// The messages the replays say they sent again, summed.
    static func resent(by workers: [ChorusProcess]) -> Int {
        workers.map { worker in
            let words = worker.standardOutput.split(separator: " ")
            return words.firstIndex(of: "resent").flatMap { Int(words[$0 + 1]) } ?? 0
        }.reduce(0, +)
    }

    /// The `key=number` fields of one log line.
    static func numbers(inLogLine line: Substring) -> [String: Int] {
        Dictionary(
            line.split(separator: " ").compactMap { field -> (String, Int)? in
                let parts = field.split(separator: "=", maxSplits: 1)
                guard parts.count == 2, let number = Int(parts[1]) else { return nil }
                return (String(parts[0]), number)
            },
            uniquingKeysWith: { first, _ in first }
        )
    }
}

import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// What no Chorus client sends on purpose (exact duplicates, garbage, a rank that comes only
/// after its steps completed, values at the edges of JSON's numbers) goes through a relay
/// with the same outcome as sent directly: the same rows, reductions, summary and counters,
/// and the garbage refused at the relay as the collector refuses it.
@Suite(
    "relays and raw input: duplicates, garbage and late data as sent directly",
    .serialized, .enabled(if: PythonZMQ.shouldRun, "needs python3 with pyzmq")
)
struct RelayRawInputTests {
    static let run = "relay-raw"

    /// Sends one phase of the run from one socket, so that the order is the same whatever
    /// is in between, and prints how many bad messages it sent.
    ///
    /// `first`: rank 0 alone (world size 2), 40 records (the last in a batch, as from a relay
    /// below), ten of them sent twice, garbage (a batch in a batch among it), a metric
    /// definition, a user summary and the end (after record 41, refused). `second`: rank 1 after every step
    /// rank 0 logged has been held open or completed without it, then rank 1 again as
    /// attempt 1 from a checkpoint at step 30, and one duplicate of its first incarnation.
    static let sender = #"""
        import json, sys, zmq
        endpoint, run, phase = sys.argv[1], sys.argv[2], sys.argv[3]
        context = zmq.Context()
        push = context.socket(zmq.PUSH)
        push.setsockopt(zmq.LINGER, 10000)
        push.connect(endpoint)

        def message(kind, rank, inc, **fields):
            return dict({"v": 1, "kind": kind, "run": run, "rank": rank, "inc": inc}, **fields)

        def send(payload):
            data = json.dumps(payload).encode()
            push.send(data)
            return data

        def values(step, rank, attempt=0):
            return {"loss": (step * 0.1 + 0.2) / (rank + 3) + attempt, "tiny": 5e-324 * (step + 1),
                    "huge": 2 ** 64 + step, "odd": 9007199254740993 + step, "zero": -0.0,
                    "nan": float("nan") if step % 7 == 0 else step, "inf": float("inf") if step == 5 else 1,
                    "train": {"acc": step / 40}, "val": {"acc": (step % 9) / 9}, "tag": "s%d \u00e9" % step,
                    "hist": {"_type": "histogram", "bins": [1, 2.5]}, "cl\u00e9": step}

        def log(rank, inc, seq, step, attempt=None):
            fields = dict(seq=seq, step=step, ts=1.0e9 + step + 0.25, data=values(step, rank, attempt or 0))
            if attempt is not None:
                fields["attempt"] = attempt
            return send(message("log", rank, inc, **fields))

        bad = 0
        if phase == "first":
            send(message("hello", 0, "r0", world_size=2, start_time=1.0e9))
            send(message("define", 0, "r0", metric="val/*", reduce="max", goal="max"))
            sent = [log(0, "r0", step + 1, step) for step in range(39)]
            for data in sent[4:14]:
                push.send(data)
            good = json.loads(sent[0])
            # The last record in a batch, as a relay below would send it; the relay re-batches it.
            last = message("log", 0, "r0", seq=40, step=39, ts=1.0e9 + 39.25, data=values(39, 0))
            push.send(json.dumps({"v": 1, "kind": "batch", "relay": "below", "messages": [last]}).encode())
            garbage = [
                b'{"v": 1, "kind": "log", "run": ',
                b'\xff\xfe not json',
                b'[1, 2, 3]',
                json.dumps(dict(good, v=2)).encode(),
                json.dumps(dict(good, kind="gossip")).encode(),
                json.dumps({k: v for k, v in good.items() if k != "seq"}).encode(),
                json.dumps(dict(good, data={"a/b": 1, "a": {"b": 2}})).encode(),
                json.dumps(dict(good, data={"k" * 300: 1})).encode(),
                # Refused with a sequence number of its own, which is settled, not left a gap.
                json.dumps(dict(good, seq=41, data={"k" * 300: 1})).encode(),
                json.dumps({"v": 1, "kind": "batch", "relay": "r", "messages": [
                    {"v": 1, "kind": "batch", "relay": "s", "messages": [good]}]}).encode(),
            ]
            for data in garbage:
                push.send(data)
            push.send_multipart([sent[0], b"a second frame"])
            bad = len(garbage) + 1
            send(message("summary", 0, "r0", data={"best": 0.5, "note": {"text": "x"}}))
            send(message("end", 0, "r0", ts=1.0e9 + 60, last_seq=41))
        else:
            send(message("hello", 1, "r1", world_size=2, start_time=1.0e9 + 1))
            first = [log(1, "r1", step + 1, step) for step in range(36)]
            send(message("hello", 1, "r1b", world_size=2, attempt=1, resume_step=30, start_time=1.0e9 + 100))
            for step in range(30, 40):
                log(1, "r1b", step - 29, step, attempt=1)
            push.send(first[2])
            send(message("end", 1, "r1", ts=1.0e9 + 99, last_seq=36))
            send(message("end", 1, "r1b", ts=1.0e9 + 160, last_seq=10))
        push.close()
        context.term()
        print(bad)
        """#

    /// Sends both phases to `endpoint`, each once `collector` has taken the one before.
    /// - Returns: the bad messages sent.
    static func send(to endpoint: String, through collector: CollectorUnderTest, in scratch: Scratch) throws -> Int {
        let output = try PythonZMQ.run(sender, [endpoint, run, "first"], in: scratch)
        let bad = try #require(Int(output.trimmingCharacters(in: .whitespacesAndNewlines)))
        try collector.waitForStatus(run: run, timeout: 60, "rank 0 to finish") {
            $0.rankStates[0] == "finished" && $0["records"] == 40 && $0["duplicates"] == 10
        }
        _ = try PythonZMQ.run(sender, [endpoint, run, "second"], in: scratch)
        try collector.waitForStatus(run: run, timeout: 60, "a finished run") { $0.finished }
        return bad
    }

    @Test("a relay passes duplicates and late data on and refuses the garbage a collector refuses")
    func rawInputEqualsDirect() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        // Few open steps, so that rank 0's steps complete without rank 1, whose records then come late.
        let options = ["--max-open-steps", "8"]

        let direct = try CollectorUnderTest(.tcp, in: scratch, options: options)
        defer { direct.kill() }
        let badCount = try Self.send(to: direct.endpoint, through: direct, in: scratch)

        let treeScratch = try Scratch()
        defer { treeScratch.remove() }
        let upstream = try CollectorUnderTest(.tcp, in: treeScratch, options: options)
        defer { upstream.kill() }
        let endpoint = "ipc://" + treeScratch.path("node.sock")
        let relay = try RelayTreeTests.startRelay(
            ["relay", "--upstream", upstream.endpoint, "--bind", endpoint, "--id", "node"], in: treeScratch)
        defer { relay.kill() }
        _ = try Self.send(to: endpoint, through: upstream, in: treeScratch)
        relay.send(SIGTERM)
        #expect(try relay.wait(timeout: 30) == 0, "\(relay.standardError)")

        let directStatus = try #require(try direct.status(run: Self.run))
        let treeStatus = try #require(try upstream.status(run: Self.run))
        #expect(directStatus["late"] > 0 && directStatus["duplicates"] == 11, "\(directStatus.text)")
        for counter in ["records", "rows", "duplicates", "late", "steps complete"] {
            #expect(
                treeStatus[counter] == directStatus[counter], "\(counter): \(treeStatus.text) vs \(directStatus.text)")
        }
        let (directRejected, directText) = try direct.rejectedInAllRuns()
        #expect(directRejected == badCount, "\(directText)")
        let stopped = try #require(relay.standardError.split(separator: "\n").first { $0.contains("relay stopped") })
        #expect(RelayTreeTests.numbers(inLogLine: stopped)["rejected"] == badCount, "\(stopped)")
        let (upstreamRejected, upstreamText) = try upstream.rejectedInAllRuns()
        #expect(upstreamRejected == 0, "garbage went upstream:\n\(upstreamText)")
        // Record 41 refused at the relay reaches the collector as a skip, settled as if refused there.
        let incarnations = "SELECT incarnation, received, skipped, missing, durable_seq FROM incarnations ORDER BY 1"
        let settled = try direct.query(incarnations)
        #expect(settled.first == ["r0", "40", "1", "0", "41"], "\(settled)")
        #expect(try upstream.query(incarnations) == settled)

        #expect(try direct.stop(SIGTERM) == 0)
        #expect(try upstream.stop(SIGTERM) == 0)
        let reference = try RelayTreeTests.exports(direct, run: Self.run)
        let tree = try RelayTreeTests.exports(upstream, run: Self.run)
        #expect(try #require(reference["history"]).split(separator: "\n").count == 80)
        for table in ["history", "steps", "summary"] {
            #expect(tree[table] == reference[table], "\(table) differs")
        }
    }
}

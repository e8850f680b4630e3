import Foundation
import Testing

/// The Python with pyzmq that sends what no Chorus client would.
///
/// `$CHORUS_PYTHON` if set (CI points it at a venv with pyzmq; then it must work), else
/// `python3` on the PATH if it can import zmq; without either the suite is skipped, since
/// this target cannot link libzmq itself.
enum PythonZMQ {
    static let given = ProcessInfo.processInfo.environment["CHORUS_PYTHON"].flatMap { $0.isEmpty ? nil : $0 }

    /// The interpreter to run, as an executable and the arguments that precede the script.
    static var command: (String, [String]) { given.map { ($0, []) } ?? ("/usr/bin/env", ["python3"]) }

    /// Whether the suite should run: always when `$CHORUS_PYTHON` is set, else if pyzmq imports.
    static let shouldRun: Bool = {
        if given != nil { return true }
        guard let scratch = try? Scratch() else { return false }
        defer { scratch.remove() }
        let (executable, prefix) = command
        guard
            let probe = try? ChorusProcess(
                executable: executable, prefix + ["-c", "import zmq"], in: scratch,
                label: "probe")
        else { return false }
        return (try? probe.wait(timeout: 60)) == 0
    }()

    /// Runs a Python script with pyzmq and returns its standard output.
    static func run(_ script: String, _ arguments: [String], in scratch: Scratch) throws -> String {
        let path = try scratch.write("sender-\(UUID().uuidString.prefix(6)).py", script)
        let (executable, prefix) = command
        let sender = try ChorusProcess(
            executable: executable, prefix + [path] + arguments, in: scratch, label: "python"
        )
        defer { sender.kill() }
        let status = try sender.wait(timeout: 120)
        try #require(status == 0, "the Python sender exited \(status):\n\(sender.standardError)")
        return sender.standardOutput
    }
}

/// Malformed, oversized and hostile messages never bring the live collector down, are counted,
/// and leave a valid run beside them intact.
@Suite("bad input to a live collector", .enabled(if: PythonZMQ.shouldRun, "needs python3 with pyzmq"))
struct BadInputTests {
    /// Sends every kind of bad message, one after another, then a 2 MiB one on its own socket
    /// (ZeroMQ drops it and that connection), and prints how many bad messages it sent.
    static let garbageSender = #"""
        import json, sys, zmq
        endpoint, run = sys.argv[1], sys.argv[2]
        context = zmq.Context()
        push = context.socket(zmq.PUSH)
        push.setsockopt(zmq.LINGER, 10000)
        push.connect(endpoint)
        log = {"v": 1, "kind": "log", "run": run, "rank": 0, "inc": "garbage", "seq": 1, "step": 0,
               "ts": 1.0, "data": {"x": 1}}
        def nested(depth):
            return '{"a": ' * depth + '1' + '}' * depth
        garbage = [
            b'{"v": 1, "kind": "log", "run": ',
            b'\xff\xfe\x00 not json',
            b'[1, 2, 3]',
            b'',
            json.dumps(dict(log, v=2)).encode(),
            json.dumps(dict(log, kind="gossip")).encode(),
            json.dumps({k: v for k, v in log.items() if k != "seq"}).encode(),
            json.dumps(dict(log, run="no spaces allowed!")).encode(),
            json.dumps(dict(log, step=-5)).encode(),
            json.dumps(dict(log, data={"a/b": 1, "a": {"b": 2}})).encode(),
            json.dumps(dict(log, data={"k" * 300: 1})).encode(),
            json.dumps(dict(log, data={"k%d" % i: i for i in range(10001)})).encode(),
            json.dumps(log)[:-1].encode() + b', "data": ' + nested(40).encode() + b'}',
            b'{"v": 1, "kind": "log", "data": ' + nested(100000).encode() + b'}',
        ]
        for message in garbage:
            push.send(message)
        push.send_multipart([json.dumps(log).encode(), b"a second frame"])
        push.close()
        big = context.socket(zmq.PUSH)
        big.setsockopt(zmq.LINGER, 2000)
        big.connect(endpoint)
        big.send(b'{"v": 1, "pad": "' + b"x" * (2 << 20) + b'"}')
        big.close()
        context.term()
        print(len(garbage) + 1)
        """#

    /// A hello for `run` naming another world size than the run's: it decodes, then the run rejects it.
    static let conflictingHello = #"""
        import json, sys, zmq
        context = zmq.Context()
        push = context.socket(zmq.PUSH)
        push.setsockopt(zmq.LINGER, 10000)
        push.connect(sys.argv[1])
        push.send(json.dumps({"v": 1, "kind": "hello", "run": sys.argv[2], "rank": 0, "inc": "intruder",
                              "world_size": 3, "start_time": 1.0}).encode())
        push.close()
        context.term()
        """#

    @Test(
        "garbage is rejected and counted, the collector stays up, and a valid run beside it is intact",
        arguments: Transport.allCases)
    func garbageThenValidRun(transport: Transport) throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let collector = try CollectorUnderTest(transport, in: scratch)
        defer { collector.kill() }
        let garbage = try PythonZMQ.run(Self.garbageSender, [collector.endpoint, "garbage"], in: scratch)
        let badCount = try #require(Int(garbage.trimmingCharacters(in: .whitespacesAndNewlines)))

        try ChorusProcess.poll("the collector to log the rejections", timeout: 60) {
            collector.process.standardError.contains("reason=multipart") || !collector.process.isRunning
        }
        try #require(collector.process.isRunning, "the collector died:\n\(collector.process.standardError)")
        for reason in [
            "malformed-json", "unsupported-version", "unknown-kind", "missing-field", "invalid-field",
            "invalid-data", "multipart",
        ] {
            #expect(collector.process.standardError.contains("reason=\(reason)"), "no rejection logged as \(reason)")
        }

        let run = "valid-beside-garbage"
        let log = CollectReplayTests.twoRankLog()
        let files = try log.write(to: scratch)
        let sent = try ChorusProcess.run(
            ["replay", "--endpoint", collector.endpoint, "--run", run] + files,
            in: scratch, timeout: 120)
        #expect(sent.status == 0, "\(sent.standardError)")
        try collector.waitForStatus(run: run, "the valid run to finish") { $0.finished && $0["rows"] == 400 }
        _ = try PythonZMQ.run(Self.conflictingHello, [collector.endpoint, run], in: scratch)
        let status = try collector.waitForStatus(run: run, "the conflicting hello to be counted") {
            $0["rejected"] == 1
        }
        #expect(status["records"] == 400 && status["duplicates"] == 0, "\(status.text)")

        // Messages rejected before any run can be named must show in `chorus status` too
        // (protocol.md section 5 lists `rejected` among its counters).
        let (shown, everything) = try collector.rejectedInAllRuns()
        #expect(shown >= badCount + 1, "status shows \(shown) rejected, not \(badCount + 1):\n\(everything)")

        try #require(collector.process.isRunning, "the collector died:\n\(collector.process.standardError)")
        #expect(try collector.stop() == 0)
        #expect(try collector.status(run: "garbage") == nil, "rejected messages must not create their run")
        let history = try collector.exportLines(run: run, table: "history")
        let rows = history.map { [$0["_step"], $0["_rank"]] }
        #expect(firstMismatch(rows, log.history.map { [.integer($0.step), .integer(Int64($0.rank))] }) == nil)
        #expect(firstMismatch(history.map(ExportReading.metrics), log.history.map(\.values)) == nil)
    }
}

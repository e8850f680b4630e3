import Foundation
import Testing

/// The command line: usage errors exit 64 naming the bad argument; help exits 0 and lists
/// each command's options; a missing store is a clear runtime error.
@Suite("command line usage")
struct UsageTests {
    /// A command line `chorus` must refuse, and a word its message must contain.
    struct Misuse: CustomTestStringConvertible, Sendable {
        var arguments: [String]
        var names: String

        var testDescription: String { "chorus " + arguments.joined(separator: " ") }
    }

    static let misuses: [Misuse] = [
        Misuse(arguments: ["frobnicate"], names: "frobnicate"),
        Misuse(arguments: ["collect", "--bogus"], names: "--bogus"),
        Misuse(arguments: ["collect", "--max-open-steps", "zero"], names: "--max-open-steps"),
        Misuse(arguments: ["collect", "--max-open-steps", "0"], names: "--max-open-steps"),
        Misuse(arguments: ["collect", "--rank-timeout", "soon"], names: "--rank-timeout"),
        Misuse(arguments: ["collect", "--store"], names: "--store"),
        Misuse(arguments: ["collect", "--http-bind", "9464"], names: "--http-bind"),
        Misuse(arguments: ["collect", "--http-bind", "::1:9464"], names: "--http-bind"),
        Misuse(arguments: ["export", "--store", "x.sqlite"], names: "--run"),
        Misuse(arguments: ["export", "--run", "r", "--table", "rows"], names: "--table"),
        Misuse(arguments: ["export", "--run", "r", "--format", "xml"], names: "--format"),
        Misuse(arguments: ["show", "--store", "x.sqlite"], names: "--run"),
        Misuse(arguments: ["replay", "--endpoint", "ipc:///tmp/none"], names: "FILE"),
        Misuse(arguments: ["replay", "--world-size", "-1", "f.jsonl"], names: "--world-size"),
        Misuse(arguments: ["status", "extra"], names: "extra"),
    ]

    @Test("a usage error exits 64 and names the bad argument", arguments: misuses)
    func usageError(_ misuse: Misuse) throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let outcome = try ChorusProcess.run(misuse.arguments, in: scratch)
        #expect(outcome.status == 64, "exited \(outcome.status); stderr: \(outcome.standardError)")
        #expect(outcome.standardError.contains(misuse.names), "stderr: \(outcome.standardError)")
        #expect(!FileManager.default.fileExists(atPath: scratch.path("x.sqlite")), "a usage error created a store")
    }

    /// Each command and options its help must mention.
    static let helps: [(String, [String])] = [
        ("collect", ["--bind", "--store", "--max-open-steps", "--rank-timeout", "--http-bind", "/metrics"]),
        ("replay", ["--endpoint", "--run", "--world-size", "--rank"]),
        ("export", ["--store", "--run", "--table", "--format", "--output", "--out"]),
        ("status", ["--store", "--run"]),
        ("show", ["--store", "--run"]),
        ("runs", ["--store"]),
        ("demo", ["--out", "--data"]),
        ("bench", ["--ranks", "--keys", "--steps", "--transport"]),
    ]

    @Test("every command's --help exits 0 and mentions its options", arguments: helps)
    func commandHelp(command: String, options: [String]) throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let outcome = try ChorusProcess.run([command, "--help"], in: scratch)
        #expect(outcome.status == 0, "chorus \(command) --help exited \(outcome.status): \(outcome.standardError)")
        #expect(outcome.standardOutput.contains("Usage: chorus \(command)"), "\(outcome.standardOutput)")
        for option in options {
            #expect(outcome.standardOutput.contains(option), "chorus \(command) --help does not mention \(option)")
        }
    }

    @Test("chorus --help exits 0 and lists every command")
    func overviewHelp() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let outcome = try ChorusProcess.run(["--help"], in: scratch)
        #expect(outcome.status == 0)
        for command in ["demo", "collect", "replay", "status", "show", "runs", "export", "bench"] {
            #expect(outcome.standardOutput.contains(command), "chorus --help does not list \(command)")
        }
    }

    @Test("show, status, runs and export on a missing store exit 1 and name the path", arguments: [
        ["show", "--run", "r"], ["status"], ["runs"], ["export", "--run", "r"],
    ])
    func missingStore(_ arguments: [String]) throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let store = scratch.path("absent.sqlite")
        let outcome = try ChorusProcess.run(arguments + ["--store", store], in: scratch)
        #expect(outcome.status == 1, "exited \(outcome.status); stderr: \(outcome.standardError)")
        #expect(outcome.standardError.contains(store), "stderr does not name the store: \(outcome.standardError)")
        #expect(!FileManager.default.fileExists(atPath: store), "reading a missing store created it")
    }

    @Test("show names the runs there are when asked for one that is not")
    func unknownRun() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let collector = try CollectorUnderTest(.ipc, in: scratch)
        defer { collector.kill() }
        let file = try scratch.write("r.jsonl", "{\"rank\": 0, \"step\": 1, \"data\": {\"x\": 1}}\n")
        let sent = try ChorusProcess.run(
            ["replay", "--endpoint", collector.endpoint, "--run", "present", file], in: scratch, timeout: 120
        )
        #expect(sent.status == 0, "\(sent.standardError)")
        try collector.waitForStatus(run: "present", "the run to finish") { $0.finished }
        #expect(try collector.stop() == 0)
        let outcome = try ChorusProcess.run(["show", "--store", collector.store, "--run", "absent"], in: scratch)
        #expect(outcome.status == 1, "exited \(outcome.status)")
        #expect(outcome.standardError.contains("absent") && outcome.standardError.contains("present"),
                "\(outcome.standardError)")
    }
}

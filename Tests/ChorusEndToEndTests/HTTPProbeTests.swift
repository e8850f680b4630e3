import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// `chorus collect --http-bind` probed and scraped by curl while real `chorus replay`
/// processes feed it, and stopped by a signal.
@Suite("collect --http-bind, probed and scraped with curl")
struct HTTPProbeTests {
    /// What curl got: the status (0 when it could not connect) and the body.
    struct Fetched {
        var status: Int
        var body: String
        var curlStatus: Int32
    }

    /// Fetches `path` from 127.0.0.1:`port` with curl.
    static func curl(_ port: UInt16, _ path: String, method: String = "GET", in scratch: Scratch) throws -> Fetched {
        let child = try ChorusProcess(
            executable: "/usr/bin/curl",
            ["-s", "-S", "-X", method, "--max-time", "20", "-w", "\n%{http_code}", "http://127.0.0.1:\(port)\(path)"],
            in: scratch, label: "curl")
        defer { child.kill() }
        let curlStatus = try child.wait(timeout: 30)
        var lines = child.standardOutput.components(separatedBy: "\n")
        let status = Int(lines.removeLast()) ?? -1
        return Fetched(status: status, body: lines.joined(separator: "\n"), curlStatus: curlStatus)
    }

    /// The HTTP port a collector logged in its `http listening` line.
    static func httpPort(_ collector: CollectorUnderTest) throws -> UInt16 {
        let line = try #require(
            collector.process.standardError.split(separator: "\n").first { $0.contains("msg=\"http listening\"") })
        let field = try #require(line.split(separator: " ").first { $0.hasPrefix("port=") })
        return try #require(UInt16(field.dropFirst("port=".count)))
    }

    @Test("probes answer 200, /metrics counts a replayed two-rank run, bad requests get 404 and 405, SIGTERM closes")
    func probesAndMetrics() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let collector = try CollectorUnderTest(.ipc, in: scratch, options: ["--http-bind", "127.0.0.1:0"])
        defer { collector.kill() }
        let port = try Self.httpPort(collector)
        #expect(port != 0)
        let healthz = try Self.curl(port, "/healthz", in: scratch)
        #expect((healthz.status, healthz.body) == (200, "ok\n"), "\(healthz)")
        let readyz = try Self.curl(port, "/readyz", in: scratch)
        #expect((readyz.status, readyz.body) == (200, "ready\n"), "\(readyz)")

        let files = try (0..<2).map { rank in
            let lines = (0..<25).map { step in
                #"{"rank": \#(rank), "step": \#(step), "time": 1700000000, "data": {"loss": \#(rank).5}}"# + "\n"
            }
            return try scratch.write("rank\(rank).jsonl", lines.joined())
        }
        let replay = try ChorusProcess.run(
            ["replay", "--endpoint", collector.endpoint, "--run", "probed", "--world-size", "2"] + files, in: scratch,
            timeout: 120)
        #expect(replay.status == 0, "\(replay.standardError)")
        try collector.waitForStatus(run: "probed", "all 50 records and a finished run") {
            $0["records"] == 50 && $0.finished
        }

        let metrics = try Self.curl(port, "/metrics", in: scratch)
        #expect(metrics.status == 200)
        let samples = Set(metrics.body.split(separator: "\n").map(String.init))
        let expected: Set<String> = [
            "# TYPE chorus_messages_received_total counter",
            #"chorus_run_records_received_total{run="probed"} 50"#,
            #"chorus_run_duplicates_total{run="probed"} 0"#,
            #"chorus_run_late_total{run="probed"} 0"#,
            #"chorus_run_rows{run="probed"} 50"#,
            #"chorus_run_open_steps{run="probed"} 0"#,
            #"chorus_run_ranks{run="probed",state="finished"} 2"#,
            #"chorus_run_ranks{run="probed",state="lost"} 0"#,
            #"chorus_run_world_size{run="probed"} 2"#,
            #"chorus_run_finished{run="probed"} 1"#,
            "chorus_steps_stored_total 25",
            "chorus_store_latency_seconds_count 25",
        ]
        #expect(expected.subtracting(samples).isEmpty, "missing \(expected.subtracting(samples).sorted())")

        for (method, path, status) in [("POST", "/metrics", 405), ("DELETE", "/healthz", 405), ("GET", "/", 404)] {
            #expect(try Self.curl(port, path, method: method, in: scratch).status == status, "\(method) \(path)")
        }
        #expect(collector.process.isRunning)

        #expect(try collector.stop(SIGTERM) == 0, "\(collector.process.standardError)")
        let closed = try Self.curl(port, "/healthz", in: scratch)
        #expect(closed.curlStatus == 7, "curl must fail to connect once the collector exited: \(closed)")
    }

    @Test("an HTTP port in use makes collect exit 1 naming it, before it opens a store")
    func portInUse() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let first = try CollectorUnderTest(.ipc, in: scratch, options: ["--http-bind", "127.0.0.1:0"])
        defer { first.kill() }
        let port = try Self.httpPort(first)
        let store = scratch.path("second.sqlite")
        let second = try ChorusProcess.run(
            [
                "collect", "--bind", "ipc://" + scratch.path("second.sock"), "--store", store,
                "--http-bind", "127.0.0.1:\(port)",
            ],
            in: scratch)
        #expect(second.status == 1, "\(second.standardError)")
        #expect(second.standardError.contains("127.0.0.1:\(port)"), "\(second.standardError)")
        #expect(second.standardError.contains("in use"), "\(second.standardError)")
        #expect(!FileManager.default.fileExists(atPath: store), "the store was created")
        #expect(try Self.curl(port, "/healthz", in: scratch).status == 200, "the first collector must go on")
    }
}

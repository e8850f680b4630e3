import ChorusCollector
import ChorusCore
import ChorusHTTP
import ChorusZMQ
import Foundation
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// A live collector fed through its real socket, probed and scraped over real HTTP.
@Suite("The collector's HTTP endpoint answers probes and scrapes from what its loop published")
struct HTTPEndpointTests {
    /// A collector on a fresh socket file and store, not started, with its endpoint on a free
    /// loopback port, in a directory the test removes.
    private final class Fixture {
        let directory = NSTemporaryDirectory() + "chorus-http-\(UUID().uuidString.prefix(8))"
        let collector: Collector
        let endpoint: HTTPEndpoint

        init() throws {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            var configuration = CollectorConfiguration(
                endpoints: ["ipc://\(directory)/collector.sock"], storePath: "\(directory)/store.sqlite")
            configuration.logger = Logger(minimumLevel: .error)
            collector = try Collector(configuration: configuration)
            endpoint = try HTTPEndpoint(collector: collector, address: HTTPBindAddress(host: "127.0.0.1", port: 0))
        }

        deinit {
            collector.stop()
            collector.waitUntilStopped(timeout: 60)
            endpoint.stop()
            try? FileManager.default.removeItem(atPath: directory)
        }

        /// Fetches `path` with URLSession.
        func fetch(_ path: String, method: String = "GET") async throws -> (status: Int, body: String) {
            var request = URLRequest(url: URL(string: "http://127.0.0.1:\(endpoint.port)\(path)")!)
            request.httpMethod = method
            let (data, response) = try await URLSession.shared.data(for: request)
            let status = try #require(response as? HTTPURLResponse).statusCode
            return (status, String(decoding: data, as: UTF8.self))
        }

        /// The samples of `/metrics`: every line that is not a comment.
        func samples() async throws -> Set<String> {
            let page = try await fetch("/metrics")
            #expect(page.status == 200)
            return Set(page.body.split(separator: "\n").map(String.init).filter { !$0.hasPrefix("#") })
        }
    }

    @Test("/healthz and /readyz follow the collector from starting through running to stopped")
    func probesFollowThePhase() async throws {
        let fixture = try Fixture()
        #expect(try await fixture.fetch("/healthz") == (200, "ok\n"))
        #expect(try await fixture.fetch("/readyz") == (503, "starting\n"))

        try fixture.collector.start()
        #expect(try await fixture.fetch("/healthz") == (200, "ok\n"))
        #expect(try await fixture.fetch("/readyz") == (200, "ready\n"))

        fixture.collector.stop()
        #expect(fixture.collector.waitUntilStopped(timeout: 60))
        #expect(try await fixture.fetch("/healthz") == (503, "stopped\n"))
        #expect(try await fixture.fetch("/readyz") == (503, "stopped\n"))
        #expect(try await fixture.fetch("/metrics").status == 200)
    }

    @Test("/metrics counts exactly the messages, rejections, duplicates, rows, steps and ranks sent")
    func metricsMatchWhatWasSent() async throws {
        let fixture = try Fixture()
        try fixture.collector.start()
        let context = try ZMQContext()
        let socket = try ZMQSocket(context, type: .push)
        try socket.connect(fixture.collector.boundEndpoints[0])
        var encoder = WireEncoder()
        let ranks = [Sender(run: "web", rank: 0, incarnation: "w0"), Sender(run: "web", rank: 1, incarnation: "w1")]
        func record(_ rank: Int, step: Int64) -> WireMessage {
            .log(
                LogRecord(
                    sender: ranks[rank], sequenceNumber: step + 1, step: step, timestamp: 1_000,
                    values: [MetricEntry("loss", .double(1 / Double(step + 1)))]))
        }
        // Rank 0 logs steps 0-2 and ends; rank 1 logs steps 0-1, one of them twice; one message
        // is not JSON. Steps 0 and 1 complete; step 2 waits for rank 1.
        var messages = ranks.map { WireMessage.hello(Hello(sender: $0, worldSize: 2, startTime: 1_000)) }
            .map { encoder.encode($0) }
        messages += [record(0, step: 0), record(0, step: 1), record(0, step: 2), record(1, step: 0)]
            .map { encoder.encode($0) }
        messages += [encoder.encode(record(1, step: 1)), encoder.encode(record(1, step: 1)), Array("not json".utf8)]
        messages.append(encoder.encode(.end(End(sender: ranks[0], timestamp: 1_001, lastSequenceNumber: 3))))
        for message in messages {
            #expect(try socket.send(message))
        }
        #expect(fixture.collector.waitUntilHandled(Int64(messages.count)))

        let samples = try await fixture.samples()
        let expected: Set<String> = [
            "chorus_messages_received_total 10",
            #"chorus_messages_rejected_total{reason="malformed-json"} 1"#,
            "chorus_steps_stored_total 2",
            "chorus_store_latency_seconds_count 2",
            #"chorus_run_records_received_total{run="web"} 5"#,
            #"chorus_run_duplicates_total{run="web"} 1"#,
            #"chorus_run_late_total{run="web"} 0"#,
            #"chorus_run_rejected_total{run="web"} 0"#,
            #"chorus_run_skipped_total{run="web"} 0"#,
            #"chorus_run_rows{run="web"} 5"#,
            #"chorus_run_open_steps{run="web"} 1"#,
            #"chorus_run_ranks{run="web",state="active"} 1"#,
            #"chorus_run_ranks{run="web",state="finished"} 1"#,
            #"chorus_run_ranks{run="web",state="lost"} 0"#,
            #"chorus_run_world_size{run="web"} 2"#,
            #"chorus_run_finished{run="web"} 0"#,
        ]
        #expect(expected.subtracting(samples).isEmpty, "missing \(expected.subtracting(samples).sorted())")
        let commits = samples.first { $0.hasPrefix("chorus_commits_total ") }.flatMap {
            Int($0.split(separator: " ")[1])
        }
        #expect((commits ?? 0) >= 1)
        let median = samples.first { $0.hasPrefix(#"chorus_store_latency_seconds{quantile="0.5"} "#) }
        #expect(median.flatMap { Double($0.split(separator: " ")[1]) }.map { $0 >= 0 && $0 < 30 } == true)

        // Rank 1's last record and end complete step 2 and finish the run.
        let last = [record(1, step: 2), .end(End(sender: ranks[1], timestamp: 1_002, lastSequenceNumber: 3))]
        for message in last {
            #expect(try socket.send(encoder.encode(message)))
        }
        #expect(fixture.collector.waitUntilHandled(Int64(messages.count + last.count)))
        let after = try await fixture.samples()
        let finished: Set<String> = [
            "chorus_messages_received_total 12",
            "chorus_steps_stored_total 3",
            #"chorus_run_open_steps{run="web"} 0"#,
            #"chorus_run_rows{run="web"} 6"#,
            #"chorus_run_ranks{run="web",state="active"} 0"#,
            #"chorus_run_ranks{run="web",state="finished"} 2"#,
            #"chorus_run_finished{run="web"} 1"#,
        ]
        #expect(finished.subtracting(after).isEmpty, "missing \(finished.subtracting(after).sorted())")
    }

    @Test(
        "other paths get 404 and other methods 405, and the collector goes on",
        arguments: [
            ("GET", "/", 404), ("GET", "/nope", 404), ("GET", "/metrics/", 404), ("POST", "/metrics", 405),
            ("PUT", "/healthz", 405), ("DELETE", "/readyz", 405), ("POST", "/nope", 404),
            ("HEAD", "/metrics", 200), ("GET", "/metrics?name[]=x", 200),
        ])
    func badRequests(method: String, path: String, status: Int) async throws {
        let fixture = try Fixture()
        try fixture.collector.start()
        #expect(try await fixture.fetch(path, method: method).status == status)
        #expect(fixture.collector.phase == .running)
        #expect(try await fixture.fetch("/healthz") == (200, "ok\n"))
    }
}

import Testing

@testable import ChorusCollector

@Suite("Prometheus text exposition: escaping, numbers, quantiles and the page's exact shape")
struct PrometheusTextTests {
    @Test(
        "label values escape backslash, double quote and line feed, and nothing else",
        arguments: [
            ("plain-run_1.2", "plain-run_1.2"), (#"a"b"#, #"a\"b"#), (#"a\b"#, #"a\\b"#), ("a\nb", #"a\nb"#),
            (#"\"\#n"#, #"\\\"\n"#), ("tab\there é", "tab\there é"), ("", ""),
        ])
    func labelValues(raw: String, escaped: String) {
        #expect(PrometheusText.escapedLabelValue(raw) == escaped)
    }

    @Test("help text escapes backslash and line feed but keeps double quotes")
    func helpText() {
        #expect(PrometheusText.escapedHelp("a \"b\" \\ c\nd") == #"a "b" \\ c\nd"#)
    }

    @Test(
        "numbers are written as Prometheus parses them",
        arguments: [
            (0.0, "0.0"), (0.25, "0.25"), (1e-05, "1e-05"), (-3.5, "-3.5"), (.nan, "NaN"), (.infinity, "+Inf"),
            (-.infinity, "-Inf"),
        ])
    func numbers(value: Double, text: String) {
        #expect(PrometheusText.formatted(value) == text)
    }

    @Test(
        "quantiles are nearest-rank over the sorted window, and NaN over nothing",
        arguments: [
            (0.5, [1.0, 2, 3, 4], 2.0), (0.99, [1.0, 2, 3, 4], 4.0), (0.5, [7.0], 7.0), (0.0, [1.0, 2], 1.0),
            (1.0, [1.0, 2], 2.0), (0.9, Array(stride(from: 1.0, through: 100, by: 1)), 90.0),
        ])
    func quantiles(quantile: Double, sorted: [Double], expected: Double) {
        #expect(CollectorMetrics.value(at: quantile, of: sorted) == expected)
        #expect(CollectorMetrics.value(at: quantile, of: []).isNaN)
    }

    @Test("a collector with no runs yet renders every family, in order, with its help and type")
    func pageWithoutRuns() {
        var counters = CollectorCounters()
        counters.messages = 7
        counters.commits = 2
        counters.rejectedByReason = ["multipart": 1, "malformed-json": 2]
        counters.stepsStored = 4
        counters.storeLatencySum = 0.5
        let metrics = CollectorMetrics(counters: counters, runs: [], recentLatencies: [0.25, 0.125, 0.0625, 0.0625])
        let samples = metrics.exposition.split(separator: "\n").filter { !$0.hasPrefix("# HELP") }
        #expect(
            samples == [
                "# TYPE chorus_messages_received_total counter",
                "chorus_messages_received_total 7",
                "# TYPE chorus_messages_rejected_total counter",
                #"chorus_messages_rejected_total{reason="malformed-json"} 2"#,
                #"chorus_messages_rejected_total{reason="multipart"} 1"#,
                "# TYPE chorus_commits_total counter",
                "chorus_commits_total 2",
                "# TYPE chorus_steps_stored_total counter",
                "chorus_steps_stored_total 4",
                "# TYPE chorus_store_latency_seconds summary",
                #"chorus_store_latency_seconds{quantile="0.5"} 0.0625"#,
                #"chorus_store_latency_seconds{quantile="0.9"} 0.25"#,
                #"chorus_store_latency_seconds{quantile="0.99"} 0.25"#,
                "chorus_store_latency_seconds_sum 0.5",
                "chorus_store_latency_seconds_count 4",
                "# TYPE chorus_run_records_received_total counter",
                "# TYPE chorus_run_duplicates_total counter",
                "# TYPE chorus_run_late_total counter",
                "# TYPE chorus_run_rejected_total counter",
                "# TYPE chorus_run_skipped_total counter",
                "# TYPE chorus_run_rows gauge",
                "# TYPE chorus_run_open_steps gauge",
                "# TYPE chorus_run_ranks gauge",
                "# TYPE chorus_run_world_size gauge",
                "# TYPE chorus_run_finished gauge",
            ])
        #expect(metrics.exposition.hasSuffix("\n"))
        #expect(
            metrics.exposition.split(separator: "\n").filter { $0.hasPrefix("# HELP") }.count == 15,
            "every family has its help line")
    }
}

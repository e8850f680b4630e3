import ChorusCore

/// A snapshot of what a collector has done, as the Prometheus text that `/metrics` serves.
///
/// Built from values the collector's loop already published (its counters, the latest store
/// latencies, and each run's ``RunStatus`` as of its latest commit), so that rendering never
/// touches the loop's mergers.
struct CollectorMetrics {
    /// The collector-wide counters.
    var counters: CollectorCounters
    /// Every run as of its latest commit, ordered by run id.
    var runs: [RunStatus]
    /// The latest store latencies, oldest first; the quantiles are taken over these.
    var recentLatencies: ArraySlice<Double>

    /// How many of the latest store latencies the quantiles cover.
    static let latencyWindow = 10_000
    /// The quantiles of the store latency summary.
    static let quantiles = [0.5, 0.9, 0.99]

    /// Takes a snapshot of `collector`.
    init(_ collector: Collector) {
        self.init(
            counters: collector.counters,
            runs: collector.runStatuses,
            recentLatencies: collector.storeLatencies.suffix(Self.latencyWindow)
        )
    }

    /// Wraps published values.
    init(counters: CollectorCounters, runs: [RunStatus], recentLatencies: ArraySlice<Double>) {
        self.counters = counters
        self.runs = runs
        self.recentLatencies = recentLatencies
    }

    /// The page in Prometheus's text format 0.0.4.
    var exposition: String {
        var page = PrometheusText()
        collectorFamilies(&page)
        runFamilies(&page)
        return page.text
    }

    private func collectorFamilies(_ page: inout PrometheusText) {
        page.family(
            "chorus_messages_received_total", .counter,
            help: "Messages taken off the ZeroMQ socket, whatever became of them.")
        page.sample("chorus_messages_received_total", counters.messages)
        page.family("chorus_messages_rejected_total", .counter, help: "Messages rejected, by reason.")
        for (reason, count) in counters.rejectedByReason.sorted(by: { $0.key < $1.key }) {
            page.sample("chorus_messages_rejected_total", count, labels: [("reason", reason)])
        }
        page.family("chorus_commits_total", .counter, help: "Batches committed to the store.")
        page.sample("chorus_commits_total", counters.commits)
        page.family(
            "chorus_steps_stored_total", .counter,
            help: "Step reductions committed to the store, revisions by late data included.")
        page.sample("chorus_steps_stored_total", counters.stepsStored)

        let latency = "chorus_store_latency_seconds"
        page.family(
            latency, .summary,
            help: "Seconds from the arrival of a step's last record to the commit of its reduction; "
                + "quantiles over the latest \(Self.latencyWindow) steps.")
        let sorted = recentLatencies.sorted()
        for quantile in Self.quantiles {
            page.sample(latency, Self.value(at: quantile, of: sorted), labels: [("quantile", "\(quantile)")])
        }
        page.sample("\(latency)_sum", counters.storeLatencySum)
        page.sample("\(latency)_count", counters.stepsStored)
    }

    private func runFamilies(_ page: inout PrometheusText) {
        let counts: [(String, String, (RunStatistics) -> Int64)] = [
            ("records_received", "Records of the run accepted, duplicates not included.", \.received),
            ("duplicates", "Records of the run seen before, ignored.", \.duplicates),
            ("late", "Records merged into a step of the run that was already complete.", \.late),
            ("rejected", "Messages of the run rejected.", \.rejected),
            (
                "skipped", "Sequence numbers of the run settled without a record: dropped by a client, or refused.",
                \.skipped
            ),
        ]
        for (name, help, value) in counts {
            page.family("chorus_run_\(name)_total", .counter, help: help)
            for run in runs {
                page.sample("chorus_run_\(name)_total", value(run.statistics), labels: [("run", run.run)])
            }
        }
        page.family("chorus_run_rows", .gauge, help: "Rows in the run's history.")
        for run in runs {
            page.sample("chorus_run_rows", run.statistics.rows, labels: [("run", run.run)])
        }
        page.family("chorus_run_open_steps", .gauge, help: "Steps of the run open now, waiting for ranks.")
        for run in runs {
            page.sample("chorus_run_open_steps", Int64(run.openStepCount), labels: [("run", run.run)])
        }
        page.family("chorus_run_ranks", .gauge, help: "Ranks of the run heard from, by state.")
        for run in runs {
            for state in [RankStatus.active, .finished, .lost] {
                let count = run.rankCounts[state] ?? 0
                page.sample("chorus_run_ranks", Int64(count), labels: [("run", run.run), ("state", state.rawValue)])
            }
        }
        page.family("chorus_run_world_size", .gauge, help: "Ranks the run waits for, once a hello said.")
        for run in runs {
            guard let worldSize = run.worldSize else { continue }
            page.sample("chorus_run_world_size", Int64(worldSize), labels: [("run", run.run)])
        }
        page.family(
            "chorus_run_finished", .gauge, help: "1 once every rank of the run has finished or been lost, else 0.")
        for run in runs {
            page.sample("chorus_run_finished", Int64(run.isFinished ? 1 : 0), labels: [("run", run.run)])
        }
    }

    /// The nearest-rank `quantile` of `sorted`; NaN when there is nothing to rank, as
    /// Prometheus expects of a summary with no observations.
    static func value(at quantile: Double, of sorted: [Double]) -> Double {
        guard !sorted.isEmpty else { return .nan }
        let rank = Int((quantile * Double(sorted.count)).rounded(.up))
        return sorted[min(max(rank, 1), sorted.count) - 1]
    }
}

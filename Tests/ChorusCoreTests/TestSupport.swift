@testable import ChorusCore

/// The run id every merger test uses.
let testRun = "job-42"

/// One incarnation of a rank, numbering its records 1, 2, 3… as a client does.
struct Worker {
    let rank: Int32
    let incarnation: String
    let worldSize: Int32
    let attempt: Int64
    let resumeStep: Int64?
    let startTime: Double
    /// The sequence number of the last record built.
    private(set) var sequenceNumber: Int64 = 0

    init(
        rank: Int32,
        incarnation: String? = nil,
        worldSize: Int32 = 2,
        attempt: Int64 = 0,
        resumeStep: Int64? = nil,
        startTime: Double? = nil
    ) {
        self.rank = rank
        self.incarnation = incarnation ?? "r\(rank)-a\(attempt)"
        self.worldSize = worldSize
        self.attempt = attempt
        self.resumeStep = resumeStep
        self.startTime = startTime ?? 1_000 + Double(attempt) * 100
    }

    var sender: Sender { Sender(run: testRun, rank: rank, incarnation: incarnation) }

    func hello() -> WireMessage {
        .hello(
            Hello(
                sender: sender,
                worldSize: worldSize,
                attempt: attempt,
                resumeStep: resumeStep,
                startTime: startTime
            )
        )
    }

    /// The next record: `values` at `step`, with the next sequence number.
    mutating func log(_ step: Int64, _ values: KeyValuePairs<String, MetricValue> = [:]) -> WireMessage {
        sequenceNumber += 1
        return log(seq: sequenceNumber, step: step, values)
    }

    /// A record with an explicit sequence number (a repeat, or one sent out of order).
    func log(
        seq: Int64,
        step: Int64,
        _ values: KeyValuePairs<String, MetricValue> = [:],
        namesAttempt: Bool = true
    ) -> WireMessage {
        .log(
            LogRecord(
                sender: sender,
                attempt: namesAttempt ? attempt : nil,
                sequenceNumber: seq,
                step: step,
                timestamp: startTime + Double(seq),
                values: values.map { MetricEntry($0.key, $0.value) }
            )
        )
    }

    func heartbeat(lastSeq: Int64? = nil) -> WireMessage {
        .heartbeat(Heartbeat(sender: sender, timestamp: startTime, lastSequenceNumber: lastSeq))
    }

    /// An `end` naming the records built so far, or `lastSeq`.
    func end(lastSeq: Int64? = nil) -> WireMessage {
        .end(End(sender: sender, timestamp: startTime, lastSequenceNumber: lastSeq ?? sequenceNumber))
    }

    func define(_ metric: String, reduce: ReduceOperation = .mean, goal: SummaryGoal? = nil) -> WireMessage {
        .define(MetricDefinition(sender: sender, pattern: metric, reduce: reduce, goal: goal))
    }
}

/// A run merger writing to an in-memory store, with a clock that moves one second per message.
final class MergeHarness {
    let store = InMemoryHistoryStore()
    private(set) var merger: RunMerger
    var now: Double = 0

    init(maxOpenSteps: Int = 1_000, rankTimeout: Double = 60, completedStepCache: Int = 1_024) throws {
        var configuration = MergeConfiguration()
        configuration.maxOpenSteps = maxOpenSteps
        configuration.rankTimeout = rankTimeout
        configuration.completedStepCache = completedStepCache
        merger = try RunMerger(run: testRun, configuration: configuration, store: store)
    }

    init(configuration: MergeConfiguration) throws {
        merger = try RunMerger(run: testRun, configuration: configuration, store: store)
    }

    /// Saves the run's status, as a commit does, and carries on with a new merger that reads
    /// the run back from the store, as a restarted collector does.
    func restart() throws {
        store.save(merger.status())
        merger = try RunMerger(run: testRun, configuration: merger.configuration, store: store, now: now)
    }

    func send(_ messages: WireMessage...) throws {
        try send(messages)
    }

    func send(_ messages: [WireMessage]) throws {
        for message in messages {
            now += 1
            try merger.apply(message, now: now)
        }
    }

    func tick(at time: Double) throws {
        now = time
        try merger.tick(now: time)
    }

    var history: [(step: Int64, rank: Int32, values: [String: MetricValue])] { store.history(run: testRun) }

    /// The `(step, rank)` of every row of the history, in order.
    var rowKeys: [String] { history.map { "\($0.step)/\($0.rank)" } }

    func values(step: Int64, rank: Int32) -> [String: MetricValue]? {
        history.first { $0.step == step && $0.rank == rank }?.values
    }

    func reduction(_ key: String, at step: Int64) -> KeyReduction? {
        store.reductions(run: testRun)[step]?[key]
    }

    var completedSteps: [Int64] { store.completions(run: testRun).keys.sorted() }

    func summary(_ key: String) -> KeySummary? { merger.summaries[key] }

    func status(_ rank: Int32) -> RankStatus? { merger.ranks[rank]?.status }

    /// Everything the merge rules decide, as text that compares exactly (see ``MergeOutcome``).
    var outcome: MergeOutcome { MergeOutcome(self) }
}

/// The history, reductions, summaries and duplicate count of a run as lines of text, so that
/// two runs compare bit for bit (a double's description reads back as the same double) and a
/// difference shows where it is.
struct MergeOutcome: Equatable, CustomStringConvertible {
    var history: [String]
    var reductions: [String]
    var summaries: [String]
    var duplicates: Int64

    init(_ harness: MergeHarness) {
        history = harness.history.map { row in
            let cells = row.values.sorted { $0.key < $1.key }.map { "\($0.key)=\(exactText($0.value))" }
            return "\(row.step)/\(row.rank): " + cells.joined(separator: " ")
        }
        reductions = harness.store.reductions(run: testRun).sorted { $0.key < $1.key }.flatMap { step, byKey in
            byKey.sorted { $0.key < $1.key }.map { "\(step) \($0.key): \(exactText($0.value))" }
        }
        summaries = harness.merger.summaries.sorted { $0.key < $1.key }.map { "\($0.key): \(exactText($0.value))" }
        duplicates = harness.merger.statistics.duplicates
    }

    var description: String {
        (history + reductions + summaries + ["duplicates \(duplicates)"]).joined(separator: "\n")
    }

    /// The first line in which `self` and `other` differ, for a failure message.
    func firstDifference(from other: MergeOutcome) -> String {
        let mine = description.split(separator: "\n")
        let theirs = other.description.split(separator: "\n")
        for (a, b) in zip(mine, theirs) where a != b { return "\(a)  vs  \(b)" }
        return "\(mine.count) lines vs \(theirs.count) lines"
    }
}

/// A value as exact text: integers plain, doubles with a `d` (so `1` and `1.0` differ).
func exactText(_ value: MetricValue) -> String {
    switch value {
    case .integer(let integer): "\(integer)"
    case .double(let double): "\(double)d"
    case .other(let text): text
    }
}

func exactText(_ number: ReducedNumber?) -> String {
    switch number {
    case .integer(let integer)?: "\(integer)"
    case .double(let double)?: "\(double)d"
    case nil: "nil"
    }
}

func exactText(_ reduction: KeyReduction) -> String {
    let mean = reduction.mean.map { "\($0)" } ?? "nil"
    let ranks = "\(reduction.minRank.map(String.init) ?? "-")/\(reduction.maxRank.map(String.init) ?? "-")"
    return "count \(reduction.count) nonfinite \(reduction.nonfinite) sum \(exactText(reduction.sum)) "
        + "mean \(mean) min \(exactText(reduction.min)) max \(exactText(reduction.max)) ranks \(ranks)"
}

func exactText(_ summary: KeySummary) -> String {
    func point(_ point: SeriesPoint?) -> String { point.map { "\($0.value)@\($0.step)" } ?? "nil" }
    let text = summary.latestText.map { "\($0.text)@\($0.step)/\($0.rank)" } ?? "nil"
    return "first \(point(summary.first)) last \(point(summary.last)) min \(point(summary.min)) "
        + "max \(point(summary.max)) count \(summary.count) nonfinite \(summary.nonfinite) "
        + "mean \(summary.mean.map { "\($0)" } ?? "nil") text \(text)"
}

/// Decodes one message from JSON text, as the collector decodes a frame.
func decodeWire(_ text: String, limits: WireLimits = WireLimits()) throws(WireError) -> WireMessage {
    try WireDecoder(limits: limits).decode(Array(text.utf8))
}

/// The error decoding `text` gives, or `nil` if it decodes.
func wireError(_ text: String) -> WireError? {
    do {
        _ = try decodeWire(text)
        return nil
    } catch {
        return error
    }
}

extension WireMessage {
    /// The message with every NaN value replaced by a marker, so that `==` compares NaN as
    /// equal to NaN (and still tells it from every number).
    var comparable: WireMessage {
        func mark(_ entries: [MetricEntry]) -> [MetricEntry] {
            entries.map { entry in
                guard case .double(let double) = entry.value, double.isNaN else { return entry }
                return MetricEntry(entry.key, .other("<NaN>"))
            }
        }
        switch self {
        case .log(var record):
            record.values = mark(record.values)
            return .log(record)
        case .summary(var summary):
            summary.values = mark(summary.values)
            return .summary(summary)
        default:
            return self
        }
    }
}

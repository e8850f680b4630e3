import ChorusCore

/// Messages rejected for one reason, of any run or of none.
public struct RejectionTally: Sendable, Hashable {
    /// The reason's code, such as `malformed-json`.
    public var reason: String
    /// How many.
    public var count: Int64
    /// The last one's error message.
    public var lastError: String
    /// The last one's sender as `run/rank/inc`, when it named one.
    public var lastSender: String?
    /// When the last one arrived, in seconds since the Unix epoch.
    public var lastAt: Double

    /// Creates a tally.
    public init(reason: String, count: Int64, lastError: String, lastSender: String?, lastAt: Double) {
        self.reason = reason
        self.count = count
        self.lastError = lastError
        self.lastSender = lastSender
        self.lastAt = lastAt
    }
}

/// A run as the store last recorded it.
public struct RunRecord: Sendable, Hashable {
    /// The run id.
    public var name: String
    /// The ranks it waits for, once known.
    public var worldSize: Int32?
    /// The earliest start time of its processes.
    public var startTime: Double?
    /// Whether every rank of the world finished or was lost.
    public var finished: Bool
    /// Records accepted.
    public var received: Int64
    /// Records seen twice.
    public var duplicates: Int64
    /// Records for steps already complete.
    public var late: Int64
    /// Messages rejected.
    public var rejected: Int64
    /// Rows in the history.
    public var rows: Int64
    /// Steps open when last written.
    public var openSteps: Int64
    /// The most steps open at once.
    public var maxOpenStepsSeen: Int64
    /// When the collector last wrote this, in seconds since the Unix epoch.
    public var updatedAt: Double?
    /// Complete steps.
    public var completedSteps: Int64
}

/// A rank of a run as the store last recorded it.
public struct RankRecord: Sendable, Hashable {
    /// The rank.
    public var rank: Int32
    /// `active`, `finished` or `lost`.
    public var status: String
    /// The highest step it logged.
    public var lastStep: Int64?
    /// When the collector last heard from it.
    public var lastHeard: Double?
    /// Its incarnations, oldest attempt first.
    public var incarnations: [IncarnationRecord]
}

/// One incarnation of a rank as the store last recorded it.
public struct IncarnationRecord: Sendable, Hashable {
    /// The incarnation id.
    public var id: String
    /// Its attempt.
    public var attempt: Int64
    /// When its process started.
    public var startTime: Double
    /// Whether it sent `end`.
    public var ended: Bool
    /// Records received.
    public var received: Int64
    /// The highest sequence number known.
    public var lastSequenceNumber: Int64
    /// Sequence numbers missing.
    public var missing: Int64
    /// The missing numbers, as `6-7,12`.
    public var gaps: String
    /// Every record up to this sequence number is committed (what the collector acknowledges).
    public var durableSequenceNumber: Int64
    /// Records that repeated one received before.
    public var duplicates: Int64
    /// Records that arrived for a step already complete.
    public var late: Int64
    /// Sequence numbers settled without a record: skipped by the client, or refused.
    public var skipped: Int64
}

/// One row of the history.
public struct HistoryRow: Sendable, Hashable {
    /// The step.
    public var step: Int64
    /// The rank.
    public var rank: Int32
    /// The latest sender timestamp of its records.
    public var timestamp: Double
    /// Its values, by key name in order.
    public var values: [MetricEntry]
}

/// A complete step and its reductions.
public struct StepRecord: Sendable {
    /// The step.
    public var step: Int64
    /// World ranks it completed without.
    public var missing: [Int32]
    /// Whether the open-step bound forced it.
    public var forced: Bool
    /// When, on the collector's clock, the last record of the step arrived.
    public var lastRecordAt: Double?
    /// The reduction of each key, by name in order.
    public var reductions: [(key: String, reduction: KeyReduction)]
}

/// One key's summary as stored.
public struct KeySummaryRecord: Sendable, Hashable {
    /// The key.
    public var key: String
    /// The headline series' first point.
    public var first: SeriesPoint?
    /// Its last point.
    public var last: SeriesPoint?
    /// Its smallest point.
    public var min: SeriesPoint?
    /// Its largest point.
    public var max: SeriesPoint?
    /// `min` or `max`, as the key's goal says.
    public var best: Double?
    /// The mean of every raw finite value.
    public var mean: Double?
    /// Numbers logged.
    public var count: Int64
    /// Non-finite numbers among them.
    public var nonfinite: Int64
    /// The latest value of a non-numeric key.
    public var text: String?
}

/// A rank's value of a key at the highest step it logged it.
public struct RankLastValue: Sendable, Hashable {
    /// The rank.
    public var rank: Int32
    /// The key.
    public var key: String
    /// The value.
    public var value: MetricValue
    /// The step.
    public var step: Int64
}

/// A run's summary: per key, the values users set, and each rank's last values.
public struct RunSummary: Sendable, Hashable {
    /// Per key, by name.
    public var keys: [KeySummaryRecord] = []
    /// Values users set.
    public var userValues: [MetricEntry] = []
    /// Each rank's last value of each key.
    public var rankLastValues: [RankLastValue] = []

    /// An empty summary.
    public init() {}
}

import ChorusCore
import Foundation
import Synchronization

/// One rank's connection to a Chorus run: what a training process logs its steps through.
///
/// ```swift
/// let run = try Run(runID: "job-42")          // rank and world size from RANK, WORLD_SIZE
/// for step in 0..<1000 {
///     run.log(["loss": .double(loss), "lr": .double(lr)], step: Int64(step))
/// }
/// run.summary["best_acc"] = 0.93
/// try run.finish()
/// ```
///
/// `log` follows wandb's rules for `step` and `commit` (see ``StepAccumulator``) and never
/// blocks for long: records go to a bounded queue that a background thread sends. Use a
/// run from one thread at a time.
public final class Run {
    /// Where a run's settings come from when the caller does not give them.
    public struct Settings: Sendable, Hashable {
        /// The run id.
        public var runID: String
        /// This process's rank.
        public var rank: Int32
        /// The ranks the run waits for.
        public var worldSize: Int32
        /// The restart count.
        public var attempt: Int64
        /// The first step this attempt logs again after restoring a checkpoint.
        public var resumeStep: Int64?
        /// The collector's endpoint.
        public var endpoint: String
        /// The collector's acknowledgement endpoint, or `nil` to listen for none.
        public var ackEndpoint: String?

        /// Settings from the environment as torchrun and SLURM set it: `CHORUS_RUN_ID`
        /// (else `TORCHELASTIC_RUN_ID`, else `SLURM_JOB_ID`, else `default`), `RANK` (else 0),
        /// `WORLD_SIZE` (else 1), `TORCHELASTIC_RESTART_COUNT` (else 0), `CHORUS_ENDPOINT`
        /// (else `tcp://127.0.0.1:7700`), `CHORUS_ACK_ENDPOINT` (`none` for none; else the
        /// one paired with the endpoint, `protocol.md` section 8).
        public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment)
            -> Settings
        {
            let runID =
                ["CHORUS_RUN_ID", "TORCHELASTIC_RUN_ID", "SLURM_JOB_ID"].lazy
                .compactMap { environment[$0] }.first { !$0.isEmpty } ?? "default"
            let endpoint = environment["CHORUS_ENDPOINT"] ?? "tcp://127.0.0.1:7700"
            return Settings(
                runID: runID,
                rank: environment["RANK"].flatMap { Int32($0) } ?? 0,
                worldSize: environment["WORLD_SIZE"].flatMap { Int32($0) } ?? 1,
                attempt: environment["TORCHELASTIC_RESTART_COUNT"].flatMap { Int64($0) } ?? 0,
                resumeStep: nil,
                endpoint: endpoint,
                ackEndpoint: acknowledgementEndpoint(environment["CHORUS_ACK_ENDPOINT"], pairedWith: endpoint)
            )
        }

        /// The acknowledgement endpoint a setting names: none for `none` or an empty one, the
        /// one paired with `endpoint` without a setting.
        public static func acknowledgementEndpoint(_ setting: String?, pairedWith endpoint: String) -> String? {
            switch setting {
            case nil: Acknowledgement.endpoint(pairedWith: endpoint)
            case "none"?, ""?: nil
            case let explicit?: explicit
            }
        }
    }

    /// The settings in force.
    public let settings: Settings
    /// The incarnation id this process picked.
    public let incarnation: String
    /// The run's history, wandb-style.
    public private(set) lazy var history = History(run: self)
    /// Values to set on the run's summary: `run.summary["best_acc"] = 0.93`.
    public private(set) lazy var summary = Summary(run: self)

    private let outbox: RecordSender
    private var encoder = WireEncoder()
    private var steps = StepAccumulator()
    private let lastSequenceNumber = SequenceCounter()
    private var finished = false
    private var warnedOfRefusal = false

    /// Starts a run: connects to the collector and sends the hello.
    ///
    /// Every argument left `nil` comes from ``Settings/fromEnvironment(_:)``; `startTime`
    /// (when the run started, for `_runtime`) is now unless given, as a replay of old logs does;
    /// `curve`, for a collector that runs with CURVE, comes from ``CurveClientKeys/fromEnvironment(_:)``.
    /// `ackEndpoint` is where the collector acknowledges (`none` for nowhere; by default the
    /// endpoint paired with `endpoint`, `protocol.md` section 8); up to `retention` sent
    /// records are kept until it has, and sent again if a fault lost them.
    /// - Throws: ``ChorusClientError`` for settings that break the protocol's rules, or the
    ///   ZeroMQ error for a malformed endpoint. No collector need be listening yet.
    public init(
        runID: String? = nil,
        rank: Int32? = nil,
        worldSize: Int32? = nil,
        attempt: Int64? = nil,
        resumeStep: Int64? = nil,
        endpoint: String? = nil,
        ackEndpoint: String? = nil,
        startTime: Double? = nil,
        curve: CurveClientKeys? = nil,
        queueCapacity: Int = 100_000,
        retention: Int = 100_000,
        heartbeatInterval: Double = 2
    ) throws {
        let defaults = Settings.fromEnvironment()
        let settings = Settings(
            runID: runID ?? defaults.runID,
            rank: rank ?? defaults.rank,
            worldSize: worldSize ?? defaults.worldSize,
            attempt: attempt ?? defaults.attempt,
            resumeStep: resumeStep,
            endpoint: endpoint ?? defaults.endpoint,
            ackEndpoint: endpoint == nil && ackEndpoint == nil
                ? defaults.ackEndpoint
                : Settings.acknowledgementEndpoint(ackEndpoint, pairedWith: endpoint ?? defaults.endpoint)
        )
        try Self.validate(settings)
        self.settings = settings
        let incarnation = Self.randomIncarnation()
        self.incarnation = incarnation
        let sequence = lastSequenceNumber
        let sender = Sender(run: settings.runID, rank: settings.rank, incarnation: incarnation)
        outbox = try RecordSender(
            connection: RecordSender.Connection(
                endpoint: settings.endpoint,
                ackEndpoint: settings.ackEndpoint,
                sender: sender,
                curve: try curve ?? CurveClientKeys.fromEnvironment()
            ),
            capacity: queueCapacity,
            retention: retention,
            heartbeatInterval: heartbeatInterval
        ) {
            var encoder = WireEncoder()
            let heartbeat = Heartbeat(
                sender: sender,
                timestamp: Date().timeIntervalSince1970,
                lastSequenceNumber: sequence.value
            )
            return encoder.encode(.heartbeat(heartbeat))
        }
        self.startTime = startTime ?? Date().timeIntervalSince1970
        let hello = Hello(
            sender: sender,
            worldSize: settings.worldSize,
            attempt: settings.attempt,
            resumeStep: settings.resumeStep,
            startTime: self.startTime,
            clientName: "chorus-swift",
            clientVersion: ChorusClientVersion.current
        )
        outbox.enqueue(.hello(encoder.encode(.hello(hello))))
    }

    /// When this process started the run, in seconds since the Unix epoch.
    public let startTime: Double

    /// How many records this run has sent (its highest sequence number).
    public var recordsSent: Int64 { lastSequenceNumber.value }

    /// The step a `log` without `step` logs at.
    public var currentStep: Int64 { steps.currentStep }

    /// Messages dropped because the queue stayed full.
    public var droppedMessages: Int64 { outbox.dropped }

    /// Records that left the retention buffer before the collector acknowledged them: sent
    /// once, and lost only if a fault hit them.
    public var unconfirmedRecords: Int64 { outbox.report.unconfirmed }

    /// Messages sent again after the collector restarted or acknowledgements stalled.
    public var resentMessages: Int64 { outbox.report.resent }

    /// Logs values at a step, with wandb's rules for `step` and `commit`.
    /// - Parameters:
    ///   - values: the values by key; nested names may use `/`.
    ///   - step: the step, or `nil` for the current one.
    ///   - commit: whether to send the row now; by default, yes without `step`, no with it.
    ///   - timestamp: when the values were logged; now by default.
    public func log(
        _ values: [String: MetricValue],
        step: Int64? = nil,
        commit: Bool? = nil,
        timestamp: Double? = nil
    ) {
        let entries = values.sorted { $0.key < $1.key }.map { MetricEntry($0.key, $0.value) }
        log(entries, step: step, commit: commit, timestamp: timestamp)
    }

    /// Logs values, in the order given, at a step, with wandb's rules for `step` and `commit`.
    public func log(_ entries: [MetricEntry], step: Int64? = nil, commit: Bool? = nil, timestamp: Double? = nil) {
        precondition(!finished, "log after finish()")
        precondition(step.map { $0 >= 0 } ?? true, "steps are never negative")
        for row in steps.log(entries, step: step, commit: commit, timestamp: timestamp ?? Date().timeIntervalSince1970)
        {
            sendRow(row)
        }
    }

    /// Tells the collector how keys matching `pattern` (a key, or a prefix ending in `*`)
    /// are reduced across ranks and summarised.
    public func defineMetric(_ pattern: String, reduce: ReduceOperation = .mean, goal: SummaryGoal? = nil) {
        let definition = MetricDefinition(sender: identity(), pattern: pattern, reduce: reduce, goal: goal)
        outbox.enqueue(.define(pattern: pattern, encoder.encode(.define(definition))))
    }

    /// Sends the pending row and `end`, then waits until the collector has committed
    /// everything (sending again what a fault lost), or `timeout` seconds pass. A process may
    /// exit right after it returns.
    /// - Returns: whether the collector confirmed everything in time; from a collector that
    ///   does not acknowledge, whether everything left this process.
    @discardableResult
    public func finish(timeout: Double = 10) -> Bool {
        guard !finished else { return true }
        if let row = steps.flush() { sendRow(row) }
        let last = lastSequenceNumber.value
        let end = End(sender: identity(), timestamp: Date().timeIntervalSince1970, lastSequenceNumber: last)
        outbox.enqueue(.end(lastSequenceNumber: last, encoder.encode(.end(end))))
        finished = true
        return outbox.close(timeout: timeout)
    }

    deinit {
        if !finished { finish() }
    }

    func setSummary(_ key: String, _ value: MetricValue) {
        let summary = UserSummary(sender: identity(), values: [MetricEntry(key, value)])
        outbox.enqueue(.summary(key: key, encoder.encode(.summary(summary))))
    }

    private func sendRow(_ row: StepAccumulator.ReadyRow) {
        let sequenceNumber = lastSequenceNumber.next()
        let record = LogRecord(
            sender: identity(),
            attempt: settings.attempt,
            sequenceNumber: sequenceNumber,
            step: row.step,
            timestamp: row.timestamp,
            values: row.values
        )
        let bytes = encoder.encode(.log(record))
        if let refusal = Self.refusal(of: record, encodedSize: bytes.count) {
            // Sending it would only make the collector refuse it, or, over the size limit,
            // make ZeroMQ drop the connection with everything queued behind it.
            warnOnce("chorus: the record for step \(row.step) was dropped: \(refusal)")
            outbox.skip(sequenceNumber, reason: refusal)
            return
        }
        outbox.enqueue(.record(sequenceNumber: sequenceNumber, bytes))
    }

    /// Why the collector would refuse `record` (`protocol.md`, section 10), or `nil`.
    static func refusal(of record: LogRecord, encodedSize: Int) -> String? {
        let limits = WireLimits()
        if encodedSize > limits.maxMessageBytes {
            return "it is \(encodedSize) bytes, over the collector's \(limits.maxMessageBytes)-byte limit"
        }
        if record.values.count > limits.maxValuesPerMessage {
            return "it has \(record.values.count) values, over the collector's \(limits.maxValuesPerMessage)"
        }
        if let key = record.values.first(where: { $0.key.utf8.count > limits.maxKeyBytes })?.key {
            return "its key \"\(key.prefix(40))…\" is over the collector's \(limits.maxKeyBytes) bytes"
        }
        return nil
    }

    /// Writes `message` to standard error, the first time only, so a loop that keeps
    /// logging what the collector cannot take does not flood it.
    private func warnOnce(_ message: String) {
        guard !warnedOfRefusal else { return }
        warnedOfRefusal = true
        FileHandle.standardError.write(Data((message + " (later ones are counted in droppedMessages)\n").utf8))
    }

    private func identity() -> Sender {
        Sender(run: settings.runID, rank: settings.rank, incarnation: incarnation)
    }

    private static func validate(_ settings: Settings) throws {
        let limits = WireLimits()
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
        guard !settings.runID.isEmpty, settings.runID.count <= limits.maxIdentifierLength,
            settings.runID.allSatisfy(allowed.contains)
        else {
            throw ChorusClientError("run id \"\(settings.runID)\" must be 1 to 128 characters of A-Z a-z 0-9 . _ -")
        }
        guard settings.rank >= 0, Int64(settings.rank) <= limits.maxRank else {
            throw ChorusClientError("rank \(settings.rank) must be 0 to \(limits.maxRank)")
        }
        guard settings.worldSize >= 1 else {
            throw ChorusClientError("world size \(settings.worldSize) must be at least 1")
        }
        guard settings.attempt >= 0 else {
            throw ChorusClientError("attempt \(settings.attempt) must not be negative")
        }
    }

    private static func randomIncarnation() -> String {
        var generator = SystemRandomNumberGenerator()
        let hexDigits = Array("0123456789abcdef")
        return String((0..<32).map { _ in hexDigits[Int(generator.next() % 16)] })
    }
}

/// The highest sequence number a run has used, shared with the sender thread's heartbeats.
final class SequenceCounter: Sendable {
    private let current = Atomic<Int64>(0)

    /// The highest number used so far.
    var value: Int64 { current.load(ordering: .relaxed) }

    /// Takes the next number.
    func next() -> Int64 { current.add(1, ordering: .relaxed).newValue }
}

/// A setting that breaks the protocol's rules.
public struct ChorusClientError: Error, Sendable, CustomStringConvertible {
    /// What is wrong and how to fix it.
    public var message: String

    init(_ message: String) {
        self.message = message
    }

    /// The message.
    public var description: String { message }
}

/// The Swift client's version, sent in every hello.
public enum ChorusClientVersion {
    /// The version.
    public static let current = "0.1.0"
}

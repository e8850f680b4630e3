/// Who sent a message: a run, a rank in it, and the incarnation of the process.
public struct Sender: Sendable, Hashable, CustomStringConvertible {
    /// The run id.
    public var run: String
    /// The writer's rank.
    public var rank: Int32
    /// The incarnation id the process picked when it started.
    public var incarnation: String

    /// Creates a sender.
    public init(run: String, rank: Int32, incarnation: String) {
        self.run = run
        self.rank = rank
        self.incarnation = incarnation
    }

    /// `run=… rank=… inc=…`, for log lines.
    public var description: String { "run=\(run) rank=\(rank) inc=\(incarnation)" }
}

/// One message of the Chorus protocol, decoded (see `protocol.md`).
public enum WireMessage: Sendable, Hashable {
    /// An incarnation starts.
    case hello(Hello)
    /// One step's values from one rank.
    case log(LogRecord)
    /// Still alive.
    case heartbeat(Heartbeat)
    /// The incarnation is done.
    case end(End)
    /// How a key or key prefix is reduced and summarised.
    case define(MetricDefinition)
    /// Values the user set on the run's summary.
    case summary(UserSummary)
    /// Sequence numbers the sender will never send.
    case skip(SkippedRecords)

    /// The sender of the message.
    public var sender: Sender {
        switch self {
        case .hello(let hello): hello.sender
        case .log(let record): record.sender
        case .heartbeat(let heartbeat): heartbeat.sender
        case .end(let end): end.sender
        case .define(let definition): definition.sender
        case .summary(let summary): summary.sender
        case .skip(let skipped): skipped.sender
        }
    }

    /// The protocol version this build speaks.
    public static let protocolVersion: Int64 = 1
}

/// The first message of an incarnation.
public struct Hello: Sendable, Hashable {
    /// The sender.
    public var sender: Sender
    /// The ranks the run waits for: `0 ..< worldSize`.
    public var worldSize: Int32
    /// The restart count of the job.
    public var attempt: Int64
    /// The first step this attempt logs again after restoring a checkpoint.
    public var resumeStep: Int64?
    /// When the process started, in seconds since the Unix epoch.
    public var startTime: Double
    /// The client library's name, for logs.
    public var clientName: String?
    /// The client library's version, for logs.
    public var clientVersion: String?

    /// Creates a hello.
    public init(
        sender: Sender,
        worldSize: Int32,
        attempt: Int64 = 0,
        resumeStep: Int64? = nil,
        startTime: Double,
        clientName: String? = nil,
        clientVersion: String? = nil
    ) {
        self.sender = sender
        self.worldSize = worldSize
        self.attempt = attempt
        self.resumeStep = resumeStep
        self.startTime = startTime
        self.clientName = clientName
        self.clientVersion = clientVersion
    }
}

/// One record: the values one rank logged at one step.
public struct LogRecord: Sendable, Hashable {
    /// The sender.
    public var sender: Sender
    /// The attempt, when the record names it; else the incarnation's hello says.
    public var attempt: Int64?
    /// The record's sequence number in its incarnation, from 1.
    public var sequenceNumber: Int64
    /// The step the values belong to.
    public var step: Int64
    /// When the record was sent, in seconds since the Unix epoch.
    public var timestamp: Double
    /// The values, flattened, in the order they were written.
    public var values: [MetricEntry]

    /// Creates a record.
    public init(
        sender: Sender,
        attempt: Int64? = nil,
        sequenceNumber: Int64,
        step: Int64,
        timestamp: Double,
        values: [MetricEntry]
    ) {
        self.sender = sender
        self.attempt = attempt
        self.sequenceNumber = sequenceNumber
        self.step = step
        self.timestamp = timestamp
        self.values = values
    }
}

/// A flattened key and its value.
public struct MetricEntry: Sendable, Hashable {
    /// The key, nested names joined with `/`.
    public var key: String
    /// The value as logged.
    public var value: MetricValue

    /// Creates an entry.
    public init(_ key: String, _ value: MetricValue) {
        self.key = key
        self.value = value
    }
}

/// A sign of life from an idle incarnation.
public struct Heartbeat: Sendable, Hashable {
    /// The sender.
    public var sender: Sender
    /// When it was sent.
    public var timestamp: Double
    /// The highest sequence number sent so far, if any.
    public var lastSequenceNumber: Int64?

    /// Creates a heartbeat.
    public init(sender: Sender, timestamp: Double, lastSequenceNumber: Int64? = nil) {
        self.sender = sender
        self.timestamp = timestamp
        self.lastSequenceNumber = lastSequenceNumber
    }
}

/// The last message of an incarnation.
public struct End: Sendable, Hashable {
    /// The sender.
    public var sender: Sender
    /// When it was sent.
    public var timestamp: Double
    /// How many records the incarnation sent.
    public var lastSequenceNumber: Int64

    /// Creates an end.
    public init(sender: Sender, timestamp: Double, lastSequenceNumber: Int64) {
        self.sender = sender
        self.timestamp = timestamp
        self.lastSequenceNumber = lastSequenceNumber
    }
}

/// Sequence numbers an incarnation gave records it will never send: records its client
/// dropped (its queue full) or could not encode, or that a relay refused. The collector
/// settles them, so that acknowledgements pass over them (`protocol.md`, section 3).
public struct SkippedRecords: Sendable, Hashable {
    /// The sender.
    public var sender: Sender
    /// The skipped sequence numbers.
    public var sequenceNumbers: ClosedRange<Int64>
    /// Why they were skipped, for logs.
    public var reason: String?

    /// Creates a notice of skipped records.
    public init(sender: Sender, sequenceNumbers: ClosedRange<Int64>, reason: String? = nil) {
        self.sender = sender
        self.sequenceNumbers = sequenceNumbers
        self.reason = reason
    }
}

/// What a summary should call best for a key.
public enum SummaryGoal: String, Sendable, Hashable {
    /// Lower is better.
    case min
    /// Higher is better.
    case max
}

/// A rule for the keys a pattern matches, like wandb's `define_metric`.
public struct MetricDefinition: Sendable, Hashable {
    /// The sender.
    public var sender: Sender
    /// A key, or a prefix ending in `*`.
    public var pattern: String
    /// The key's headline reduction.
    public var reduce: ReduceOperation
    /// The summary's goal, if any.
    public var goal: SummaryGoal?

    /// Creates a definition.
    public init(sender: Sender, pattern: String, reduce: ReduceOperation = .mean, goal: SummaryGoal? = nil) {
        self.sender = sender
        self.pattern = pattern
        self.reduce = reduce
        self.goal = goal
    }
}

/// Values a user set on the run's summary.
public struct UserSummary: Sendable, Hashable {
    /// The sender.
    public var sender: Sender
    /// The values, flattened.
    public var values: [MetricEntry]

    /// Creates a user summary.
    public init(sender: Sender, values: [MetricEntry]) {
        self.sender = sender
        self.values = values
    }
}

/// What one ZeroMQ frame holds: a message, or a relay's batch of its ranks' messages, each
/// decoded, or refused, on its own.
public enum WireFrame: Sendable {
    /// One message.
    case message(WireMessage)
    /// A relay's batch: the relay's id and its messages in the order they came.
    case batch(relay: String, [Result<WireMessage, WireError>])
}

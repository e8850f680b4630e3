/// Where a rank stands in its run.
public enum RankStatus: String, Sendable, Hashable {
    /// Heard from recently and not finished.
    case active
    /// Its latest incarnation sent `end`.
    case finished
    /// Silent for longer than the rank timeout; it rejoins when it speaks again.
    case lost
}

/// One process's life as a rank: its attempt, start time and sequence numbers.
public struct IncarnationState: Sendable, Hashable {
    /// The incarnation id.
    public var id: String
    /// The attempt it belongs to.
    public var attempt: Int64
    /// When the process started; 0 until its hello arrives.
    public var startTime: Double
    /// Whether its hello arrived.
    public var greeted: Bool
    /// The resume step its hello named.
    public var resumeStep: Int64?
    /// The sequence numbers received.
    public var sequence = SequenceTracker()
    /// Whether it sent `end`.
    public var ended = false
    /// Its records that repeated one received before.
    public var duplicates: Int64 = 0
    /// Its records that arrived for a step already complete.
    public var late: Int64 = 0
    /// Its sequence numbers settled without a record: skipped by its sender, or refused.
    public var skipped: Int64 = 0

    /// How many of its records arrived, duplicates not counted.
    public var recordsReceived: Int64 { sequence.receivedCount - skipped }

    /// Creates the state of an incarnation, as first heard or as a store kept it.
    public init(
        id: String,
        attempt: Int64,
        startTime: Double,
        greeted: Bool,
        resumeStep: Int64? = nil,
        sequence: SequenceTracker = SequenceTracker(),
        ended: Bool = false,
        duplicates: Int64 = 0,
        late: Int64 = 0,
        skipped: Int64 = 0
    ) {
        self.id = id
        self.attempt = attempt
        self.startTime = startTime
        self.greeted = greeted
        self.resumeStep = resumeStep
        self.sequence = sequence
        self.ended = ended
        self.duplicates = duplicates
        self.late = late
        self.skipped = skipped
    }
}

/// Everything the merger knows of one rank of a run.
public struct RankState: Sendable {
    /// The rank.
    public let rank: Int32
    /// Its status.
    public var status: RankStatus = .active
    /// The highest step any of its records named.
    public var highestStep: Int64?
    /// The last time, on the collector's clock, any message of the rank arrived.
    public var lastHeard: Double
    /// Its incarnations by id.
    public var incarnations: [String: IncarnationState] = [:]
    /// Per attempt, the step from which it supersedes lower attempts.
    public private(set) var supersedeFrom: [Int64: Int64] = [:]
    /// Attempts whose hello named a resume step; their threshold no longer follows logged steps.
    public private(set) var resumeStepFixed: Set<Int64> = []

    init(rank: Int32, now: Double) {
        self.rank = rank
        self.lastHeard = now
    }

    /// Recreates a rank's state as a store kept it, when a collector starts again.
    public init(
        rank: Int32,
        status: RankStatus,
        highestStep: Int64?,
        lastHeard: Double,
        incarnations: [String: IncarnationState],
        supersedeFrom: [Int64: Int64],
        resumeStepFixed: Set<Int64>
    ) {
        self.rank = rank
        self.status = status
        self.highestStep = highestStep
        self.lastHeard = lastHeard
        self.incarnations = incarnations
        self.supersedeFrom = supersedeFrom
        self.resumeStepFixed = resumeStepFixed
    }

    /// The step from which a cell of `attempt` at any step is superseded by a higher attempt,
    /// under `thresholds` (by default the current ones): `nil` if never.
    static func supersededFrom(attempt: Int64, thresholds: [Int64: Int64]) -> Int64? {
        var lowest: Int64?
        for (higher, step) in thresholds where higher > attempt {
            lowest = Swift.min(lowest ?? step, step)
        }
        return lowest
    }

    /// Whether a value that `attempt` logged at `step` is superseded under `thresholds`.
    static func isSuperseded(attempt: Int64, step: Int64, thresholds: [Int64: Int64]) -> Bool {
        guard let from = supersededFrom(attempt: attempt, thresholds: thresholds) else { return false }
        return step >= from
    }

    /// Lowers `attempt`'s threshold to `step` if it is lower: from the hello's resume step
    /// (which then stays) or from a logged step (while no resume step is known).
    /// - Returns: the threshold before, or `nil` if nothing changed.
    mutating func lowerThreshold(attempt: Int64, to step: Int64, fromResumeStep: Bool) -> Int64?? {
        if fromResumeStep {
            let before = supersedeFrom[attempt]
            let wasFixed = resumeStepFixed.contains(attempt)
            resumeStepFixed.insert(attempt)
            if wasFixed, let before, before <= step { return nil }
            if before == step { return nil }
            supersedeFrom[attempt] = step
            return .some(before)
        }
        guard !resumeStepFixed.contains(attempt) else { return nil }
        let before = supersedeFrom[attempt]
        if let before, before <= step { return nil }
        supersedeFrom[attempt] = step
        return .some(before)
    }

    /// The incarnation that speaks for the rank now: the highest (attempt, start time).
    var latestIncarnation: IncarnationState? {
        incarnations.values.max { ($0.attempt, $0.startTime, $0.id) < ($1.attempt, $1.startTime, $1.id) }
    }
}

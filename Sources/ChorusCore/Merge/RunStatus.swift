/// Where a run stands at one moment, as a value: what the collector hands to the thread that
/// writes the store, while the merger goes on.
public struct RunStatus: Sendable {
    /// The run id.
    public var run: String
    /// The ranks the run waits for, once known.
    public var worldSize: Int32?
    /// The earliest start time any hello gave.
    public var startTime: Double?
    /// Whether every rank of the world has finished or been lost.
    public var isFinished: Bool
    /// The run's counters.
    public var statistics: RunStatistics
    /// Steps open now.
    public var openStepCount: Int
    /// Every rank heard from, or, in a status of changes, the ranks that changed.
    public var ranks: [Int32: RankState]
    /// How many ranks are in each state, whichever ranks ``ranks`` holds.
    public var rankCounts: [RankStatus: Int]
    /// Every key the run has seen, with its rules and summary (empty when none of its values
    /// is in the history).
    public var keys: [KeyStatus]
    /// Values users set on the summary.
    public var userSummary: [String: MetricValue]
    /// Every `define` in force, by metric pattern, so that keys first seen later follow it too.
    public var definitions: [String: MetricRule]

    /// Creates a status; a store builds one to hand a restarted collector's merger.
    public init(
        run: String,
        worldSize: Int32?,
        startTime: Double?,
        isFinished: Bool,
        statistics: RunStatistics,
        openStepCount: Int,
        ranks: [Int32: RankState],
        keys: [KeyStatus] = [],
        userSummary: [String: MetricValue] = [:],
        definitions: [String: MetricRule] = [:]
    ) {
        self.run = run
        self.worldSize = worldSize
        self.startTime = startTime
        self.isFinished = isFinished
        self.statistics = statistics
        self.openStepCount = openStepCount
        self.ranks = ranks
        var counts: [RankStatus: Int] = [:]
        for state in ranks.values { counts[state.status, default: 0] += 1 }
        rankCounts = counts
        self.keys = keys
        self.userSummary = userSummary
        self.definitions = definitions
    }
}

/// How keys matching a metric pattern are reduced and summarised (a `define` message).
public struct MetricRule: Sendable, Hashable {
    /// The headline reduction.
    public var reduce: ReduceOperation
    /// The summary goal, if any.
    public var goal: SummaryGoal?

    /// Creates a definition.
    public init(reduce: ReduceOperation, goal: SummaryGoal?) {
        self.reduce = reduce
        self.goal = goal
    }
}

/// One key of a run: how it is reduced and summarised, and its summary.
public struct KeyStatus: Sendable {
    /// The key.
    public var name: String
    /// Its headline reduction.
    public var reduce: ReduceOperation
    /// Its summary goal, if defined.
    public var goal: SummaryGoal?
    /// Its summary.
    public var summary: KeySummary
}

extension RunMerger {
    /// The run as it stands now, every rank included.
    public func status() -> RunStatus {
        status(ranks: ranks)
    }

    /// The run as it stands now, with only the ranks that changed since the last call (every
    /// rank, the first time), which is what a store that keeps the rest needs; a large world
    /// then costs a commit only the ranks that spoke.
    public func takeStatusOfChanges() -> RunStatus {
        var changed: [Int32: RankState] = [:]
        changed.reserveCapacity(changedRanks.count)
        for rank in changedRanks {
            changed[rank] = ranks[rank]
        }
        changedRanks.removeAll(keepingCapacity: true)
        var status = status(ranks: changed)
        var counts: [RankStatus: Int] = [:]
        for state in ranks.values { counts[state.status, default: 0] += 1 }
        status.rankCounts = counts
        return status
    }

    private func status(ranks: [Int32: RankState]) -> RunStatus {
        RunStatus(
            run: run,
            worldSize: worldSize,
            startTime: startTime,
            isFinished: isFinished,
            statistics: statistics,
            openStepCount: openStepCount,
            ranks: ranks,
            keys: keys.names.indices.map { index in
                let id = Int32(index)
                return KeyStatus(
                    name: keys.names[index],
                    reduce: keys.reduce(id),
                    goal: keys.goal(id),
                    summary: keySummaries[id] ?? KeySummary()
                )
            },
            userSummary: userSummary,
            definitions: keys.definitions
        )
    }
}

/// Settings of the merge that a collector's operator chooses.
public struct MergeConfiguration: Sendable, Hashable {
    /// The most steps held open per run; past it the oldest completes without the ranks it
    /// still waits for.
    public var maxOpenSteps: Int = 1_000
    /// Seconds of silence after which a rank is declared lost.
    public var rankTimeout: Double = 60
    /// Complete steps kept in memory for late data before it has to be read from the store.
    public var completedStepCache: Int = 1_024
    /// The most ranks a run may have, world and auxiliary writers together: a hello naming a
    /// larger world, or a message from one rank too many, is rejected. It bounds what one
    /// sender can make the collector allocate.
    public var maxRanksPerRun = 100_000
    /// The most incarnations one rank may have; a message of one more is rejected.
    public var maxIncarnationsPerRank = 1_000
    /// The most separate runs of sequence numbers one incarnation may have received: a
    /// record or skip that would start one more is rejected for now, and taken once the
    /// numbers before it have come. Every commit writes an incarnation's runs to the store,
    /// so this bounds what a sender scattering its numbers can make each commit cost.
    public var maxSequenceRangesPerIncarnation = 10_000

    /// The defaults.
    public init() {}
}

/// The counters of one run (`protocol.md`, section 5).
public struct RunStatistics: Sendable, Hashable {
    /// Records accepted (duplicates not included).
    public var received: Int64 = 0
    /// Records seen before, ignored.
    public var duplicates: Int64 = 0
    /// Records merged into a step that was already complete.
    public var late: Int64 = 0
    /// Messages of this run rejected after decoding (a conflicting hello, say).
    public var rejected: Int64 = 0
    /// Sequence numbers settled without a record: dropped by a client, or refused.
    public var skipped: Int64 = 0
    /// Rows in the history.
    public var rows: Int64 = 0
    /// The most steps open at once.
    public var maxOpenStepsSeen: Int = 0

    /// Zero counters.
    public init() {}
}

/// Merges every rank's records of one run into one history ordered by (step, rank),
/// completes and reduces steps, and keeps the run's summary.
///
/// A merger is owned by one thread. Everything it changes goes to its ``HistoryStore`` as
/// it happens; it keeps in memory only the open steps and a bounded cache of complete ones,
/// and reads older steps back from the store when late data or a restart revises them.
/// The result never depends on the order records arrive in.
public final class RunMerger {
    /// The run id.
    public let run: String
    /// The ranks the run waits for, once a hello said.
    public internal(set) var worldSize: Int32?
    /// Every rank heard from (and every rank of the world).
    public internal(set) var ranks: [Int32: RankState] = [:]
    /// The run's counters.
    public internal(set) var statistics = RunStatistics()
    /// Whether every rank of the world has finished or been lost.
    public internal(set) var isFinished = false
    /// The earliest start time any hello gave.
    public internal(set) var startTime: Double?
    /// Summaries by key name, of every key with a value in the history.
    ///
    /// A key whose every value was superseded has none, just as if it had never been logged,
    /// so that which keys have a summary never depends on arrival order.
    public var summaries: [String: KeySummary] {
        var byName: [String: KeySummary] = [:]
        for (id, summary) in keySummaries where !summary.isEmpty { byName[keys.names[Int(id)]] = summary }
        return byName
    }
    /// Values users set on the summary.
    public internal(set) var userSummary: [String: MetricValue] = [:]

    let configuration: MergeConfiguration
    let store: HistoryStore
    var keys = KeyTable()
    var keySummaries: [Int32: KeySummary] = [:]
    var openSteps: [Int64: StepState] = [:]
    /// Open step numbers, ascending.
    var openOrder: [Int64] = []
    var completedSteps: [Int64: StepState] = [:]
    var completedOrder: [Int64] = []
    /// Every step up to here is complete; every open step is above it.
    var completedThrough: Int64 = -1
    var frontier: Int64 = -1
    /// Active world ranks whose highest step is the frontier.
    var frontierHolders = 0
    /// Ranks whose state changed since the last ``takeStatusOfChanges()``.
    var changedRanks: Set<Int32> = []

    /// Creates the merger of `run`, writing to `store`, and carries on from where the store
    /// left the run, if it holds it: its ranks, incarnations and their sequence numbers, its
    /// open steps, summaries and definitions, as of the last saved status.
    ///
    /// Records that arrived after that status was saved are not in the store; their clients
    /// send them again (`protocol.md`, section 8).
    /// - Parameter now: the collector's clock; every rank of a continued run counts as heard
    ///   from now, since none could speak while the collector was away.
    /// - Throws: whatever the store throws reading the run back.
    public init(run: String, configuration: MergeConfiguration, store: HistoryStore, now: Double = 0) throws {
        self.run = run
        self.configuration = configuration
        self.store = store
        for name in try store.keyNames(run: run) {
            _ = keys.id(for: name)
        }
        if let saved = try store.savedStatus(run: run) {
            try restore(saved, now: now)
        }
        continuesStoredRun = !keys.names.isEmpty || !ranks.isEmpty
    }

    /// Whether the store held this run before this merger started.
    public private(set) var continuesStoredRun = false

    /// The number of open steps.
    public var openStepCount: Int { openOrder.count }

    /// The name of key `id`.
    public func keyName(_ id: Int32) -> String { keys.names[Int(id)] }

    /// The summary goal of a key, if one is defined.
    public func goal(of key: String) -> SummaryGoal? {
        keys.existingID(for: key).flatMap { keys.goal($0) }
    }

    /// The headline reduction of a key.
    public func reduceOperation(of key: String) -> ReduceOperation {
        keys.existingID(for: key).map { keys.reduce($0) } ?? .mean
    }

    /// Merges one decoded message that arrived at `now` (seconds, the collector's clock).
    /// - Throws: ``WireError`` if the message contradicts the run (it changes nothing then),
    ///   or whatever the store throws.
    public func apply(_ message: WireMessage, now: Double) throws {
        do {
            try handle(message, now: now)
        } catch let rejection as WireError {
            statistics.rejected += 1
            throw rejection
        }
    }

    private func handle(_ message: WireMessage, now: Double) throws {
        let sender = message.sender
        try checkBounds(message)
        if case .hello(let hello) = message {
            try greet(hello, now: now)
            return
        }
        hear(sender, now: now)
        switch message {
        case .hello:
            break
        case .log(let record):
            try merge(record, now: now)
        case .heartbeat(let heartbeat):
            if let last = heartbeat.lastSequenceNumber {
                incarnation(of: sender) { $0.sequence.announce(upTo: last) }
            }
        case .end(let end):
            incarnation(of: sender) {
                $0.sequence.announce(upTo: end.lastSequenceNumber)
                $0.ended = true
            }
            if let latest = ranks[sender.rank]?.latestIncarnation, latest.id == sender.incarnation {
                ranks[sender.rank]?.status = .finished
            }
            try advance()
        case .define(let definition):
            let rule = MetricRule(reduce: definition.reduce, goal: definition.goal)
            for key in keys.define(definition.pattern, rule) {
                keySummaries[key, default: KeySummary()].extremesStale = true
            }
            try refreshStaleSummaries()
        case .summary(let summary):
            for entry in summary.values { userSummary[entry.key] = entry.value }
        case .skip(let skipped):
            try settle(skipped.sequenceNumbers, of: sender)
        }
    }

    /// Settles sequence numbers of `sender` that no record will fill: its sender skipped
    /// them, or this collector refused the record (``settleRefusedRecord(_:sequenceNumber:now:)``).
    private func settle(_ sequenceNumbers: ClosedRange<Int64>, of sender: Sender) throws(WireError) {
        try checkFragmentation(adding: sequenceNumbers, of: sender)
        var settled: Int64 = 0
        incarnation(of: sender) {
            settled = $0.sequence.settle(sequenceNumbers)
            $0.skipped += settled
        }
        statistics.skipped = statistics.skipped.addingClamped(settled)
    }

    /// Settles the sequence number of a `log` record refused for what it holds, which the
    /// same record sent again would not change: acknowledgements pass over it. The refusal
    /// is counted where the record was refused; the run's bounds refusing the settling too
    /// is not counted again.
    public func settleRefusedRecord(_ sender: Sender, sequenceNumber: Int64, now: Double) throws {
        guard sequenceNumber >= 1 else { return }
        try checkBounds(.skip(SkippedRecords(sender: sender, sequenceNumbers: sequenceNumber...sequenceNumber)))
        hear(sender, now: now)
        try settle(sequenceNumber...sequenceNumber, of: sender)
    }

    /// Rejects sequence numbers that would give the incarnation one separate run of numbers
    /// more than the configuration allows.
    private func checkFragmentation(adding numbers: ClosedRange<Int64>, of sender: Sender) throws(WireError) {
        let sequence = ranks[sender.rank]!.incarnations[sender.incarnation]!.sequence
        guard sequence.rangeCount >= configuration.maxSequenceRangesPerIncarnation,
            sequence.wouldStartRange(numbers)
        else { return }
        throw WireError(
            .overLimit,
            "incarnation \(sender.incarnation) of rank \(sender.rank) has \(sequence.rangeCount) separate runs of "
                + "sequence numbers, the most this collector keeps; \(numbers.lowerBound) is taken once the "
                + "numbers before it have come"
        )
    }

    /// Counts a message of this run that was rejected before it reached the merger.
    public func countRejection() {
    }

    /// Declares lost every rank silent for longer than the rank timeout, and completes what
    /// that allows. Call it regularly.
    public func tick(now: Double) throws {
        var changed = false
        for (rank, state) in ranks where state.status == .active {
            if now - state.lastHeard > configuration.rankTimeout {
                ranks[rank]?.status = .lost
                changedRanks.insert(rank)
                changed = true
            }
        }
        if changed { try advance() }
    }

    /// Completes every open step, as when the run ends (or the collector shuts down and the
    /// run is finished).
    public func completeAllOpenSteps() throws {
        while let step = openOrder.first {
            try complete(step, forced: false)
        }
    }

    /// The missing sequence numbers of each rank's incarnations, ranks with none left out.
    public func gaps(limit: Int = 100) -> [Int32: [String: [ClosedRange<Int64>]]] {
        var gaps: [Int32: [String: [ClosedRange<Int64>]]] = [:]
        for (rank, state) in ranks {
            for (id, incarnation) in state.incarnations where !incarnation.sequence.isComplete {
                gaps[rank, default: [:]][id] = incarnation.sequence.missingRanges(limit: limit)
            }
        }
        return gaps
    }

    // MARK: - Messages

    private func greet(_ hello: Hello, now: Double) throws {
        let sender = hello.sender
        if let worldSize, worldSize != hello.worldSize {
            throw WireError(
                .conflict,
                "hello names world size \(hello.worldSize) but run \(run) has world size \(worldSize)"
            )
        }
        if worldSize == nil {
            worldSize = hello.worldSize
            for rank in 0..<hello.worldSize where ranks[rank] == nil {
                ranks[rank] = RankState(rank: rank, now: now)
                changedRanks.insert(rank)
            }
        }
        startTime = min(startTime ?? hello.startTime, hello.startTime)
        hear(sender, now: now)
        var state =
            ranks[sender.rank]!.incarnations[sender.incarnation]
            ?? IncarnationState(id: sender.incarnation, attempt: hello.attempt, startTime: 0, greeted: false)
        let isNewGreeting = !state.greeted
        state.attempt = hello.attempt
        state.startTime = hello.startTime
        state.greeted = true
        state.resumeStep = hello.resumeStep
        ranks[sender.rank]!.incarnations[sender.incarnation] = state
        if isNewGreeting, ranks[sender.rank]!.latestIncarnation?.id == sender.incarnation {
            ranks[sender.rank]!.status = state.ended ? .finished : .active
        }
        if let resumeStep = hello.resumeStep {
            try lowerThreshold(rank: sender.rank, attempt: hello.attempt, to: resumeStep, fromResumeStep: true)
        }
        try advance()
    }

    /// Rejects a message that would make the run hold more ranks or incarnations than the
    /// configuration allows, before anything of it is kept.
    private func checkBounds(_ message: WireMessage) throws(WireError) {
        let sender = message.sender
        if case .hello(let hello) = message, worldSize == nil, Int(hello.worldSize) > configuration.maxRanksPerRun {
            throw WireError(
                .overLimit,
                "hello names world size \(hello.worldSize); this collector takes at most "
                    + "\(configuration.maxRanksPerRun) ranks per run (--max-ranks-per-run)"
            )
        }
        guard let state = ranks[sender.rank] else {
            if ranks.count >= configuration.maxRanksPerRun {
                throw WireError(
                    .overLimit,
                    "run \(run) already has \(ranks.count) ranks, the most this collector takes "
                        + "(--max-ranks-per-run); rank \(sender.rank) is one too many"
                )
            }
            return
        }
        if state.incarnations[sender.incarnation] == nil,
            state.incarnations.count >= configuration.maxIncarnationsPerRank
        {
            throw WireError(
                .overLimit,
                "rank \(sender.rank) of run \(run) already has \(state.incarnations.count) incarnations, the most "
                    + "this collector keeps; a process should keep its incarnation id for the whole run"
            )
        }
    }

    /// Notes that the sender spoke: a lost rank rejoins.
    private func hear(_ sender: Sender, now: Double) {
        changedRanks.insert(sender.rank)
        if ranks[sender.rank] == nil {
            ranks[sender.rank] = RankState(rank: sender.rank, now: now)
        }
        ranks[sender.rank]!.lastHeard = now
        if ranks[sender.rank]!.status == .lost {
            let ended = ranks[sender.rank]!.latestIncarnation?.ended ?? false
            ranks[sender.rank]!.status = ended ? .finished : .active
            // Only the world holds steps back; an auxiliary writer rejoining changes nothing.
            if isWorldRank(sender.rank) && !ended {
                isFinished = false
                recomputeFrontier()
            }
        }
        if ranks[sender.rank]!.incarnations[sender.incarnation] == nil {
            ranks[sender.rank]!.incarnations[sender.incarnation] = IncarnationState(
                id: sender.incarnation,
                attempt: 0,
                startTime: 0,
                greeted: false
            )
        }
    }

    private func incarnation(of sender: Sender, _ body: (inout IncarnationState) -> Void) {
        body(&ranks[sender.rank]!.incarnations[sender.incarnation]!)
    }

    private func merge(_ record: LogRecord, now: Double) throws {
        let sender = record.sender
        let rank = sender.rank
        try checkFragmentation(adding: record.sequenceNumber...record.sequenceNumber, of: sender)
        var incarnation = ranks[rank]!.incarnations[sender.incarnation]!
        guard incarnation.sequence.insert(record.sequenceNumber) else {
            statistics.duplicates += 1
            ranks[rank]!.incarnations[sender.incarnation]!.duplicates += 1
            return
        }
        if !incarnation.greeted, let attempt = record.attempt {
            incarnation.attempt = attempt
        }
        ranks[rank]!.incarnations[sender.incarnation] = incarnation
        statistics.received += 1
        let attempt = record.attempt ?? incarnation.attempt
        let priority = CellPriority(
            attempt: attempt,
            incarnationStart: incarnation.startTime,
            incarnation: incarnation.id,
            sequenceNumber: record.sequenceNumber
        )
        let previousHighest = ranks[rank]!.highestStep
        ranks[rank]!.highestStep = max(previousHighest ?? record.step, record.step)
        try lowerThreshold(rank: rank, attempt: attempt, to: record.step, fromResumeStep: false)

        var keyIDs: [Int32] = []
        keyIDs.reserveCapacity(record.values.count)
        for entry in record.values {
            let (id, isNew) = keys.id(for: entry.key)
            if isNew { try store.apply(.key(id: id, name: entry.key), run: run) }
            keyIDs.append(id)
        }
        let thresholds = ranks[rank]!.supersedeFrom
        let lateBefore = statistics.late
        defer {
            if statistics.late > lateBefore { ranks[rank]!.incarnations[sender.incarnation]!.late += 1 }
        }
        try mutateStep(record.step, countsAsLate: true, thresholdsBefore: { self.thresholds(of: $0) }) { state in
            try self.write(record, keyIDs: keyIDs, priority: priority, thresholds: thresholds, into: &state)
            state.lastArrival = max(state.lastArrival, now)
        }
        if isWorldRank(rank), ranks[rank]!.status == .active, previousHighest ?? -1 == frontier,
            record.step > frontier
        {
            frontierHolders -= 1
            if frontierHolders <= 0 { try advance() }
        }
    }

    /// Writes a record's values into its row of `state`, sending each change to the store.
    private func write(
        _ record: LogRecord,
        keyIDs: [Int32],
        priority: CellPriority,
        thresholds: [Int64: Int64],
        into state: inout StepState
    ) throws {
        let step = record.step
        let rank = record.sender.rank
        let existed = state.row(rank: rank).map { $0.isLive(step: step, thresholds: thresholds) } ?? false
        var changes: [HistoryChange] = []
        let row = state.withRow(rank: rank, attempt: priority.attempt, timestamp: record.timestamp) { row in
            for (entry, key) in zip(record.values, keyIDs) {
                let loser = row.cells.first { $0.key == key }
                guard let winner = row.merge(key: key, value: entry.value, priority: priority) else { continue }
                if let loser, loser.priority.attempt < winner.priority.attempt {
                    changes.append(.cellReplaced(step: step, rank: rank, loser))
                }
                let superseded = RankState.isSuperseded(
                    attempt: winner.priority.attempt,
                    step: step,
                    thresholds: thresholds
                )
                changes.append(.cell(step: step, rank: rank, winner, superseded: superseded))
            }
            return row
        }
        let live = row.isLive(step: step, thresholds: thresholds)
        if live && !existed { statistics.rows += 1 }
        try store.apply(
            .row(step: step, rank: rank, reportAttempt: row.reportAttempt, timestamp: row.timestamp, superseded: !live),
            run: run
        )
        for change in changes { try store.apply(change, run: run) }
    }

    func thresholds(of rank: Int32) -> [Int64: Int64] {
        ranks[rank]?.supersedeFrom ?? [:]
    }

    func isWorldRank(_ rank: Int32) -> Bool {
        guard let worldSize else { return false }
        return rank >= 0 && rank < worldSize
    }
}

extension Int64 {
    /// `self + other` for counts that cannot be negative, or `Int64.max` where that would
    /// overflow: a skip may name every sequence number there is, so counts of skipped
    /// numbers summed over incarnations can pass it (found by the fuzzer).
    func addingClamped(_ other: Int64) -> Int64 {
        let (sum, overflow) = addingReportingOverflow(other)
        return overflow ? .max : sum
    }
}

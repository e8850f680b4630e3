import Testing

@testable import ChorusCore

@Suite("RunMerger: attempts and incarnations")
struct RunMergerAttemptTests {
    /// Rank 1 logs steps 0…6 in one attempt. Rank 0's attempt 0 logs steps 0…`lastOldStep`
    /// with `loss` and `extra`; its attempt 1 (hello with `resumeStep`) logs `newSteps` with `loss`.
    private static func restart(
        lastOldStep: Int64,
        resumeStep: Int64?,
        newSteps: [Int64],
        order: Arrival
    ) -> [WireMessage] {
        var old = Worker(rank: 0)
        var new = Worker(rank: 0, attempt: 1, resumeStep: resumeStep)
        var other = Worker(rank: 1)
        let oldLogs = (0...lastOldStep).map { old.log($0, ["loss": .double(0.1 * Double($0 + 1)), "extra": 1]) }
        let newLogs = newSteps.map { new.log($0, ["loss": .double(0.7 + Double($0))]) }
        let otherLogs = (0...6).map { other.log($0, ["loss": .double(0.3 * Double($0))]) }
        let logs =
            order == .inOrder ? oldLogs + otherLogs + newLogs : newLogs.reversed() + otherLogs + oldLogs.reversed()
        return [old.hello(), new.hello(), other.hello()] + logs
    }

    /// In order: the old attempt, the other rank, the new attempt. Or the new attempt first,
    /// each attempt's records in reverse.
    enum Arrival { case inOrder, newFirst }

    private static func merged(_ messages: [WireMessage], cache: Int = 1_024) throws -> MergeHarness {
        let harness = try MergeHarness(completedStepCache: cache)
        try harness.send(messages)
        try harness.merger.completeAllOpenSteps()
        return harness
    }

    @Test(
        "a higher attempt supersedes the rank's lower attempts from its resume step on",
        arguments: [(false, 1_024), (true, 1_024), (false, 0), (true, 0)]
    )
    func resumeStep(newFirst: Bool, cache: Int) throws {
        let order: Arrival = newFirst ? .newFirst : .inOrder
        let harness = try Self.merged(
            Self.restart(lastOldStep: 5, resumeStep: 3, newSteps: [3, 4, 5, 6], order: order),
            cache: cache
        )
        #expect(harness.values(step: 2, rank: 0) == ["loss": 0.30000000000000004, "extra": 1])
        for step: Int64 in 3...6 {
            #expect(harness.values(step: step, rank: 0) == ["loss": .double(0.7 + Double(step))])
            #expect(harness.reduction("extra", at: step) == nil)
            #expect(harness.reduction("loss", at: step)?.count == 2)
        }
        #expect(harness.rowKeys.count == 14)
        #expect(harness.summary("extra")?.count == 3)
        #expect(harness.summary("extra")?.last == SeriesPoint(step: 2, value: 1))
        // The superseded cells stay in the store for audit.
        let row = try #require(harness.store.loadStep(run: testRun, step: 4)?.row(rank: 0))
        #expect(row.cells.count == 2)
    }

    @Test(
        "superseded values leave history, reductions and summary as if never logged",
        arguments: [(false, 1_024), (true, 1_024), (true, 0)]
    )
    func asIfNeverLogged(newFirst: Bool, cache: Int) throws {
        let order: Arrival = newFirst ? .newFirst : .inOrder
        let superseding = try Self.merged(
            Self.restart(lastOldStep: 5, resumeStep: 3, newSteps: [3, 4, 5, 6], order: order),
            cache: cache
        )
        let clean = try Self.merged(
            Self.restart(lastOldStep: 2, resumeStep: 3, newSteps: [3, 4, 5, 6], order: .inOrder))
        let outcome = superseding.outcome
        let reference = clean.outcome
        #expect(outcome == reference, "\(outcome.firstDifference(from: reference))")
        // The mean is over the surviving raw values, exactly.
        var exact = ExactSum()
        var count = 0
        for row in clean.history {
            guard case .double(let value)? = row.values["loss"] else { continue }
            exact.add(value)
            count += 1
        }
        #expect(superseding.summary("loss")?.count == Int64(count))
        #expect(superseding.summary("loss")?.mean == exact.mean(count: count))
    }

    @Test(
        "without a resume step, the lowest step the attempt logs is where it supersedes from",
        arguments: [[4, 5, 3, 6], [3, 4, 5, 6], [6, 5, 4, 3]] as [[Int64]]
    )
    func lowestLoggedStep(newSteps: [Int64]) throws {
        let harness = try Self.merged(
            Self.restart(lastOldStep: 5, resumeStep: nil, newSteps: newSteps, order: .inOrder)
        )
        let reference = try Self.merged(
            Self.restart(lastOldStep: 2, resumeStep: nil, newSteps: [3, 4, 5, 6], order: .inOrder)
        )
        #expect(harness.outcome == reference.outcome, "\(harness.outcome.firstDifference(from: reference.outcome))")
        #expect(harness.values(step: 2, rank: 0)?["extra"] == 1)
        #expect(harness.values(step: 3, rank: 0)?["extra"] == nil)
    }

    @Test(
        "a key whose every value is superseded leaves the same summaries in any arrival order",
        arguments: [false, true]
    )
    func keyOnlyInSupersededRows(newFirst: Bool) throws {
        var old = Worker(rank: 0, worldSize: 1)
        var new = Worker(rank: 0, worldSize: 1, attempt: 1)
        let oldLogs = [old.log(0, ["loss": 1.0]), old.log(1, ["loss": 1.0, "note": "only here"])]
        let newLogs = [new.log(1, ["loss": 2.0])]
        let harness = try MergeHarness()
        try harness.send([old.hello(), new.hello()] + (newFirst ? newLogs + oldLogs : oldLogs + newLogs))
        let clean = try MergeHarness()
        try clean.send([old.hello(), new.hello(), old.log(seq: 1, step: 0, ["loss": 1.0])] + newLogs)
        #expect(harness.values(step: 1, rank: 0) == ["loss": 2.0])
        #expect(harness.outcome.summaries == clean.outcome.summaries)
        #expect(harness.summary("note") == nil, "\(harness.summary("note").map(exactText) ?? "")")
    }

    @Test("the rows superseded before the higher attempt logs them leave the history at once")
    func supersededBeforeRelogged() throws {
        var old = Worker(rank: 0, worldSize: 1)
        let new = Worker(rank: 0, worldSize: 1, attempt: 1, resumeStep: 2)
        let harness = try MergeHarness()
        try harness.send([old.hello()] + (0...4).map { old.log($0, ["loss": .double(Double($0))]) })
        #expect(harness.rowKeys == ["0/0", "1/0", "2/0", "3/0", "4/0"])
        #expect(harness.summary("loss")?.count == 5)
        try harness.send(new.hello())
        #expect(harness.rowKeys == ["0/0", "1/0"])
        #expect(harness.reduction("loss", at: 3) == nil)
        #expect(harness.summary("loss")?.count == 2)
        #expect(harness.summary("loss")?.mean == 0.5)
        #expect(harness.summary("loss")?.last == SeriesPoint(step: 1, value: 1))
        #expect(harness.merger.statistics.rows == 2)
    }

    @Test("a record that names no attempt takes its incarnation's hello's")
    func attemptFromHello() throws {
        var old = Worker(rank: 0, worldSize: 1)
        let new = Worker(rank: 0, worldSize: 1, attempt: 1)
        let harness = try MergeHarness()
        try harness.send([old.hello(), new.hello()] + (0...3).map { old.log($0, ["loss": 1.0]) })
        try harness.send(new.log(seq: 1, step: 2, ["loss": 5.0], namesAttempt: false))
        #expect(harness.values(step: 2, rank: 0) == ["loss": 5.0])
        #expect(harness.rowKeys == ["0/0", "1/0", "2/0"])
    }

    @Test(
        "a restart with the same attempt keeps everything; the later incarnation wins a key", arguments: [false, true])
    func sameAttemptRestart(laterFirst: Bool) throws {
        var first = Worker(rank: 0, incarnation: "first", worldSize: 1, startTime: 100)
        var second = Worker(rank: 0, incarnation: "second", worldSize: 1, startTime: 200)
        let firstLogs = (0...3).map { first.log($0, ["loss": .double(Double($0)), "old": 1]) }
        let secondLogs = (2...5).map { second.log($0, ["loss": .double(10 + Double($0))]) }
        let harness = try MergeHarness()
        try harness.send(
            [first.hello(), second.hello()] + (laterFirst ? secondLogs + firstLogs : firstLogs + secondLogs))
        #expect(harness.rowKeys == ["0/0", "1/0", "2/0", "3/0", "4/0", "5/0"])
        #expect(harness.values(step: 1, rank: 0) == ["loss": 1.0, "old": 1])
        #expect(harness.values(step: 3, rank: 0) == ["loss": 13.0, "old": 1])
        #expect(harness.values(step: 5, rank: 0) == ["loss": 15.0])
        #expect(harness.summary("old")?.count == 4)
        #expect(harness.summary("loss")?.count == 6)
        #expect(harness.summary("loss")?.mean == 55.0 / 6)
    }
}

@Suite("RunMerger: records of one incarnation that name different attempts")
struct RunMergerMixedAttemptTests {
    @Test("a higher attempt named by a later record of the same incarnation supersedes the row once")
    func sameIncarnationHigherAttempt() throws {
        // Found by the fuzzer: the row was counted twice, since no *incarnation* of a lower
        // attempt existed once the record had raised its incarnation's attempt.
        let harness = try MergeHarness()
        let worker = Worker(rank: 0, incarnation: "a1", worldSize: 1, attempt: 1)
        let higher = Worker(rank: 0, incarnation: "a1", worldSize: 1, attempt: 12)
        try harness.send(worker.log(seq: 2, step: 3, ["loss": 2]))
        try harness.send(higher.log(seq: 1, step: 3, ["loss": 3]))
        try harness.merger.completeAllOpenSteps()
        #expect(harness.rowKeys == ["3/0"])
        #expect(harness.merger.statistics.rows == 1)
        #expect(harness.values(step: 3, rank: 0) == ["loss": 3])
    }
}

@Suite("RunMerger: the last step there is")
struct RunMergerLastStepTests {
    @Test("a higher attempt supersedes a lower attempt's row at step Int64.max too")
    func supersedesTheLastStep() throws {
        // Found by the fuzzer: the steps a new threshold touched ran up to Int64.max excluded.
        let harness = try MergeHarness()
        let lower = Worker(rank: 0, incarnation: "a", worldSize: 1, attempt: 1)
        let higher = Worker(rank: 0, incarnation: "b", worldSize: 1, attempt: 2)
        try harness.send(lower.log(seq: 1, step: .max, ["loss": 1]))
        try harness.send(higher.log(seq: 1, step: 3, ["loss": 2]))
        try harness.merger.completeAllOpenSteps()
        #expect(harness.rowKeys == ["3/0"])
        #expect(harness.merger.statistics.rows == 1)
    }
}

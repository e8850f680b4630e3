import Testing

@testable import ChorusCore

@Suite("RunMerger: ordering, completion, late data and duplicates")
struct RunMergerTests {
    @Test(
        "the history is ordered by (step, rank), whatever order the records arrive in",
        arguments: [1, 2, 3] as [UInt64])
    func ordering(seed: UInt64) throws {
        var workers = (0..<3).map { Worker(rank: $0, worldSize: 3) }
        var logs: [WireMessage] = []
        for step in Int64(0)..<5 {
            for rank in 0..<3 {
                logs.append(workers[rank].log(step, ["loss": .double(Double(step * 10) + Double(rank))]))
            }
        }
        var random = SeededGenerator(seed: seed)
        let harness = try MergeHarness()
        try harness.send(workers.map { $0.hello() })
        try harness.send(logs.shuffled(using: &random))
        let expected = (0..<5).flatMap { step in (0..<3).map { "\(step)/\($0)" } }
        #expect(harness.rowKeys == expected)
        #expect(harness.values(step: 3, rank: 2) == ["loss": 32.0])
        #expect(harness.merger.statistics.rows == 15)
        #expect(harness.merger.statistics.received == 15)
    }

    @Test("a step completes once every world rank has reported it or a later step")
    func completion() throws {
        var rank0 = Worker(rank: 0)
        var rank1 = Worker(rank: 1)
        let harness = try MergeHarness()
        try harness.send(rank0.hello(), rank1.hello())
        try harness.send(rank0.log(0, ["loss": 1.0]), rank0.log(1, ["loss": 2.0]))
        #expect(harness.completedSteps.isEmpty)
        #expect(harness.merger.openStepCount == 2)
        // Rank 1 skips step 0: reporting step 1 counts for step 0 too.
        try harness.send(rank1.log(1, ["loss": 4.0]))
        #expect(harness.completedSteps == [0, 1])
        #expect(harness.store.completions(run: testRun)[0]?.missing == [])
        #expect(harness.reduction("loss", at: 0)?.count == 1)
        #expect(harness.reduction("loss", at: 1)?.mean == 3)
        try harness.send(rank0.log(2, ["loss": 3.0]))
        #expect(harness.completedSteps == [0, 1])
        #expect(harness.reduction("loss", at: 2) == nil)
        #expect(harness.merger.openStepCount == 1)
    }

    @Test("an auxiliary rank never holds a step back, and its values join the reductions")
    func auxiliaryRank() throws {
        var rank0 = Worker(rank: 0)
        var rank1 = Worker(rank: 1)
        var evaluator = Worker(rank: 5)
        let harness = try MergeHarness()
        try harness.send(rank0.hello(), rank1.hello(), evaluator.hello())
        try harness.send(evaluator.log(0, ["loss": 10.0]), evaluator.log(3, ["eval": 0.5]))
        try harness.send(rank0.log(0, ["loss": 1.0]), rank1.log(0, ["loss": 4.0]))
        #expect(harness.completedSteps == [0])
        #expect(harness.reduction("loss", at: 0)?.count == 3)
        #expect(harness.reduction("loss", at: 0)?.mean == 5)
        #expect(harness.reduction("loss", at: 0)?.maxRank == 5)
        // The evaluator never logs steps 1 and 2 and has already passed them: neither matters.
        try harness.send(rank0.log(1, ["loss": 1.0]), rank1.log(1, ["loss": 1.0]))
        #expect(harness.completedSteps == [0, 1])
        #expect(harness.merger.openStepCount == 1)
        try harness.send(rank0.log(3, ["loss": 1.0]), rank1.log(3, ["loss": 1.0]))
        #expect(harness.completedSteps == [0, 1, 3])
        #expect(harness.reduction("eval", at: 3)?.count == 1)
        #expect(harness.rowKeys == ["0/0", "0/1", "0/5", "1/0", "1/1", "3/0", "3/1", "3/5"])
    }

    @Test("late data for a complete step revises its reduction and the summary, and counts as late")
    func lateData() throws {
        var rank0 = Worker(rank: 0)
        var rank1 = Worker(rank: 1)
        var evaluator = Worker(rank: 2)
        let harness = try MergeHarness()
        try harness.send(rank0.hello(), rank1.hello(), evaluator.hello())
        try harness.send(rank0.log(0, ["loss": 1.0]), rank1.log(0, ["loss": 3.0]))
        #expect(harness.reduction("loss", at: 0)?.mean == 2)
        #expect(harness.summary("loss")?.mean == 2)
        #expect(harness.summary("loss")?.last?.value == 2)
        try harness.send(evaluator.log(0, ["loss": 8.0]))
        #expect(harness.merger.statistics.late == 1)
        let revised = try #require(harness.reduction("loss", at: 0))
        #expect(exactText(revised) == "count 3 nonfinite 0 sum 12.0d mean 4.0 min 1.0d max 8.0d ranks 0/2")
        let summary = try #require(harness.summary("loss"))
        #expect(summary.count == 3)
        #expect(summary.mean == 4)
        #expect(summary.first == SeriesPoint(step: 0, value: 4))
        #expect(summary.last == SeriesPoint(step: 0, value: 4))
        #expect(summary.min == SeriesPoint(step: 0, value: 4))
        #expect(summary.max == SeriesPoint(step: 0, value: 4))
        // A second record of a world rank for the complete step, with a new key, is late too.
        try harness.send(rank0.log(0, ["acc": 0.5]))
        #expect(harness.merger.statistics.late == 2)
        #expect(harness.reduction("acc", at: 0)?.mean == 0.5)
        #expect(harness.values(step: 0, rank: 0) == ["loss": 1.0, "acc": 0.5])
        #expect(harness.merger.statistics.rows == 3)
    }

    @Test("a duplicate record is counted and not applied, and is never late")
    func duplicates() throws {
        let rank0 = Worker(rank: 0, worldSize: 1)
        let harness = try MergeHarness()
        try harness.send(rank0.hello(), rank0.log(seq: 1, step: 0, ["loss": 1.0]))
        #expect(harness.completedSteps == [0])
        try harness.send(rank0.log(seq: 1, step: 0, ["loss": 99.0]), rank0.log(seq: 1, step: 0, ["loss": 1.0]))
        #expect(harness.merger.statistics.duplicates == 2)
        #expect(harness.merger.statistics.received == 1)
        #expect(harness.merger.statistics.late == 0)
        #expect(harness.values(step: 0, rank: 0) == ["loss": 1.0])
        #expect(harness.summary("loss")?.count == 1)
    }

    @Test("the same sequence number in another incarnation is not a duplicate")
    func sameNumberOtherIncarnation() throws {
        let first = Worker(rank: 0, incarnation: "a", worldSize: 1, startTime: 1)
        let second = Worker(rank: 0, incarnation: "b", worldSize: 1, startTime: 2)
        let harness = try MergeHarness()
        try harness.send(first.hello(), second.hello())
        try harness.send(first.log(seq: 1, step: 0, ["a": 1]), second.log(seq: 1, step: 1, ["a": 2]))
        #expect(harness.merger.statistics.duplicates == 0)
        #expect(harness.rowKeys == ["0/0", "1/0"])
    }

    @Test(
        "for the same key of a row the higher sequence number wins, in either arrival order", arguments: [false, true])
    func higherSequenceWins(reversed: Bool) throws {
        let rank0 = Worker(rank: 0, worldSize: 1)
        var logs = [rank0.log(seq: 1, step: 0, ["loss": 1.0, "a": 1]), rank0.log(seq: 2, step: 0, ["loss": 2.0])]
        if reversed { logs.reverse() }
        let harness = try MergeHarness()
        try harness.send([rank0.hello()] + logs)
        #expect(harness.values(step: 0, rank: 0) == ["loss": 2.0, "a": 1])
        #expect(harness.rowKeys == ["0/0"])
        #expect(harness.reduction("loss", at: 0)?.mean == 2)
        #expect(harness.summary("loss")?.count == 1)
        #expect(harness.summary("loss")?.mean == 2)
    }

    @Test("an empty data record makes a row with no keys and counts as reporting the step")
    func emptyReport() throws {
        var rank0 = Worker(rank: 0)
        var rank1 = Worker(rank: 1)
        let harness = try MergeHarness()
        try harness.send(rank0.hello(), rank1.hello(), rank1.log(0, ["loss": 1.0]))
        #expect(harness.completedSteps.isEmpty)
        try harness.send(rank0.log(0))
        #expect(harness.completedSteps == [0])
        #expect(harness.store.completions(run: testRun)[0]?.missing == [])
        #expect(harness.rowKeys == ["0/0", "0/1"])
        #expect(harness.values(step: 0, rank: 0) == [:])
        #expect(harness.reduction("loss", at: 0)?.count == 1)
        #expect(harness.merger.statistics.rows == 2)
    }

    @Test("a hello naming another world size is rejected and counted, and changes nothing")
    func conflictingHello() throws {
        let harness = try MergeHarness()
        try harness.send(Worker(rank: 0, worldSize: 2).hello())
        #expect(throws: WireError.self) { try harness.send(Worker(rank: 1, worldSize: 3).hello()) }
        #expect(harness.merger.statistics.rejected == 1)
        #expect(harness.merger.worldSize == 2)
        #expect(harness.merger.ranks[2] == nil)
    }
}

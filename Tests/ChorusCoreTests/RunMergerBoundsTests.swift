import Testing

@testable import ChorusCore

@Suite("RunMerger: what one sender can make a run hold is bounded")
struct RunMergerBoundsTests {
    private func harness(maxRanks: Int = 4, maxIncarnations: Int = 3) throws -> MergeHarness {
        let harness = try MergeHarness()
        var configuration = harness.merger.configuration
        configuration.maxRanksPerRun = maxRanks
        configuration.maxIncarnationsPerRank = maxIncarnations
        return try MergeHarness(configuration: configuration)
    }

    private func overLimit(_ harness: MergeHarness, _ message: WireMessage) -> WireError? {
        do {
            try harness.send(message)
            return nil
        } catch {
            return error as? WireError
        }
    }

    @Test("a hello naming a world larger than the bound is refused, and allocates nothing")
    func worldTooLarge() throws {
        let harness = try harness(maxRanks: 4)
        let error = overLimit(harness, Worker(rank: 0, worldSize: 5).hello())
        #expect(error?.code == .overLimit)
        #expect(error?.message.contains("world size 5") == true)
        #expect(harness.merger.ranks.isEmpty && harness.merger.worldSize == nil)
        #expect(harness.merger.statistics.rejected == 1)
    }

    @Test("ranks past the bound are refused; the ranks inside it merge as before")
    func tooManyRanks() throws {
        let harness = try harness(maxRanks: 4)
        var ranks = (0..<2).map { Worker(rank: Int32($0)) }
        try harness.send(ranks.map { $0.hello() })
        var evaluators = (2..<5).map { Worker(rank: Int32($0)) }
        try harness.send(evaluators[0].log(0, ["acc": 0.5]), evaluators[1].log(0, ["acc": 0.7]))
        #expect(overLimit(harness, evaluators[2].log(0, ["acc": 0.9]))?.code == .overLimit)
        try harness.send(ranks[0].log(0, ["loss": 1]), ranks[1].log(0, ["loss": 3]))
        #expect(harness.rowKeys == ["0/0", "0/1", "0/2", "0/3"])
        #expect(harness.reduction("acc", at: 0)?.max == .double(0.7))
    }

    @Test("incarnations of one rank past the bound are refused")
    func tooManyIncarnations() throws {
        let harness = try harness(maxIncarnations: 3)
        for index in 0..<3 {
            try harness.send(Worker(rank: 0, incarnation: "i\(index)", worldSize: 1).hello())
        }
        let fourth = Worker(rank: 0, incarnation: "i3", worldSize: 1)
        #expect(overLimit(harness, fourth.hello())?.code == .overLimit)
        #expect(overLimit(harness, fourth.log(seq: 1, step: 0, ["loss": 1]))?.code == .overLimit)
        #expect(harness.merger.ranks[0]?.incarnations.count == 3)
        var known = Worker(rank: 0, incarnation: "i1", worldSize: 1)
        try harness.send(known.log(0, ["loss": 2]))
        #expect(harness.values(step: 0, rank: 0) == ["loss": 2])
    }

    @Test("a record or skip that would start one separate run of numbers too many waits; one that joins is taken")
    func scatteredSequenceNumbers() throws {
        var configuration = try MergeHarness().merger.configuration
        configuration.maxSequenceRangesPerIncarnation = 3
        let harness = try MergeHarness(configuration: configuration)
        var rank = Worker(rank: 0, worldSize: 1)
        try harness.send(rank.hello())
        for seq: Int64 in [1, 3, 5] {
            try harness.send(rank.log(seq: seq, step: seq, ["x": .integer(seq)]))
        }
        let refused = overLimit(harness, rank.log(seq: 7, step: 7, ["x": 7]))
        #expect(refused?.code == .overLimit)
        #expect(
            refused?.message.contains("3 separate runs of sequence numbers") == true, "\(String(describing: refused))")
        let skip = WireMessage.skip(SkippedRecords(sender: rank.sender, sequenceNumbers: 9...12))
        #expect(overLimit(harness, skip)?.code == .overLimit)
        #expect(harness.merger.statistics.rejected == 2)
        // A refused record was counted where it was refused; its settling refused too is not counted again.
        #expect(throws: WireError.self) {
            try harness.merger.settleRefusedRecord(rank.sender, sequenceNumber: 20, now: harness.now)
        }
        #expect(harness.merger.statistics.rejected == 2)

        // Numbers inside, beside or between what came are taken, and the waiting one then too.
        try harness.send(rank.log(seq: 2, step: 2, ["x": 2]), rank.log(seq: 6, step: 6, ["x": 6]))
        try harness.send(rank.log(seq: 3, step: 3, ["x": 3]))
        try harness.send(rank.log(seq: 7, step: 7, ["x": 7]), skip)
        let sequence = try #require(harness.merger.ranks[0]?.incarnations[rank.incarnation]?.sequence)
        #expect(sequence.receivedRanges == [1...3, 5...7, 9...12])
        #expect(harness.merger.statistics.duplicates == 1)
        #expect(harness.merger.statistics.rows == 6)
    }
}

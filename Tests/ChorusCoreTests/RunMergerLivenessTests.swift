import Testing

@testable import ChorusCore

@Suite("RunMerger: bounded memory, lost ranks, the end of a run, and gaps")
struct RunMergerLivenessTests {
    @Test("a large world in lockstep completes each step once its last rank reports it")
    func largeWorldInLockstep() throws {
        let worldSize: Int32 = 2_000
        var workers = (0..<worldSize).map { Worker(rank: $0, worldSize: worldSize) }
        let harness = try MergeHarness()
        try harness.send(workers.map { $0.hello() })
        for step in Int64(0)..<5 {
            for index in workers.indices.dropLast() {
                try harness.send(workers[index].log(step, ["loss": .double(Double(index))]))
            }
            #expect(harness.completedSteps == Array(0..<step), "step \(step) completed before its last rank")
            try harness.send(workers[workers.count - 1].log(step, ["loss": .double(Double(worldSize - 1))]))
            #expect(harness.completedSteps == Array(0...step))
        }
        #expect(harness.reduction("loss", at: 4)?.count == Int(worldSize))
        #expect(harness.reduction("loss", at: 4)?.maxRank == worldSize - 1)
    }

    @Test("past the open-step bound the oldest step completes without the ranks it waits for")
    func maxOpenSteps() throws {
        var rank0 = Worker(rank: 0)
        var rank1 = Worker(rank: 1)
        let harness = try MergeHarness(maxOpenSteps: 3)
        try harness.send(rank0.hello(), rank1.hello())
        try harness.send((0...5).map { rank0.log($0, ["loss": .double(Double($0))]) })
        #expect(harness.completedSteps == [0, 1, 2])
        #expect(harness.merger.openStepCount == 3)
        #expect(harness.merger.statistics.maxOpenStepsSeen == 3)
        let completion = try #require(harness.store.completions(run: testRun)[0])
        #expect(completion.missing == [1])
        #expect(completion.forced)
        // Rank 1's data for a forced step merges as late data.
        try harness.send(rank1.log(0, ["loss": 4.0]))
        #expect(harness.merger.statistics.late == 1)
        #expect(harness.reduction("loss", at: 0)?.count == 2)
        #expect(harness.reduction("loss", at: 0)?.mean == 2)
        #expect(harness.summary("loss")?.first == SeriesPoint(step: 0, value: 2))
        #expect(harness.merger.openStepCount == 3)
    }

    @Test("a rank silent past the timeout is lost, and the steps it held back complete")
    func rankTimeout() throws {
        var rank0 = Worker(rank: 0)
        var rank1 = Worker(rank: 1)
        let harness = try MergeHarness(rankTimeout: 10)
        try harness.send(rank0.hello(), rank1.hello(), rank1.log(0, ["loss": 1.0]))
        try harness.send((0...2).map { rank0.log($0, ["loss": 2.0]) })
        #expect(harness.completedSteps == [0])
        try harness.tick(at: 10)
        #expect(harness.status(1) == .active)
        try harness.tick(at: 15)
        #expect(harness.status(1) == .lost)
        #expect(harness.status(0) == .active)
        #expect(harness.completedSteps == [0, 1, 2])
        #expect(harness.store.completions(run: testRun)[2]?.missing == [1])
        #expect(harness.store.completions(run: testRun)[2]?.forced == false)
        #expect(!harness.merger.isFinished)
    }

    @Test("heartbeats keep a rank from being lost")
    func heartbeatsKeepAlive() throws {
        let rank0 = Worker(rank: 0)
        let harness = try MergeHarness(rankTimeout: 10)
        try harness.send(rank0.hello(), Worker(rank: 1).hello())
        harness.now = 8
        try harness.send(rank0.heartbeat())
        try harness.tick(at: 15)
        #expect(harness.status(0) == .active)
        #expect(harness.status(1) == .lost)
    }

    @Test("a lost rank rejoins when it speaks again, and holds steps back again")
    func rejoin() throws {
        var rank0 = Worker(rank: 0)
        var rank1 = Worker(rank: 1)
        let harness = try MergeHarness(rankTimeout: 10)
        try harness.send(rank0.hello(), rank1.hello(), rank1.log(0, ["loss": 1.0]))
        try harness.send((0...2).map { rank0.log($0, ["loss": 2.0]) })
        try harness.tick(at: 20)
        #expect(harness.status(1) == .lost)
        #expect(harness.status(0) == .lost)
        try harness.send(rank0.heartbeat(), rank1.heartbeat())
        #expect(harness.status(0) == .active)
        #expect(harness.status(1) == .active)
        try harness.send(rank0.log(3, ["loss": 2.0]))
        #expect(harness.completedSteps == [0, 1, 2])
        try harness.send(rank1.log(1, ["loss": 3.0]))
        #expect(harness.merger.statistics.late == 1)
        #expect(harness.reduction("loss", at: 1)?.mean == 2.5)
        try harness.send(rank1.log(3, ["loss": 4.0]))
        #expect(harness.completedSteps == [0, 1, 2, 3])
        #expect(harness.store.completions(run: testRun)[3]?.missing == [])
    }

    @Test("the run finishes when every world rank has ended, completing what is open")
    func finishesWhenAllEnd() throws {
        var rank0 = Worker(rank: 0)
        var rank1 = Worker(rank: 1)
        var evaluator = Worker(rank: 2)
        let harness = try MergeHarness()
        try harness.send(rank0.hello(), rank1.hello(), evaluator.hello())
        try harness.send((0...2).map { rank0.log($0, ["a": 1]) } + [rank1.log(0, ["a": 1])])
        try harness.send(evaluator.log(7, ["eval": 1]))
        try harness.send(rank0.end())
        #expect(harness.status(0) == .finished)
        #expect(!harness.merger.isFinished)
        #expect(harness.completedSteps == [0])
        try harness.send(rank1.end())
        #expect(harness.status(1) == .finished)
        #expect(harness.merger.isFinished)
        #expect(harness.completedSteps == [0, 1, 2, 7])
        #expect(harness.merger.openStepCount == 0)
        #expect(harness.store.completions(run: testRun)[2]?.missing == [])
        #expect(harness.merger.gaps().isEmpty)
    }

    @Test("the run finishes when every world rank has ended or been lost")
    func finishesWhenEndedOrLost() throws {
        var rank0 = Worker(rank: 0)
        let harness = try MergeHarness(rankTimeout: 10)
        try harness.send(rank0.hello(), Worker(rank: 1).hello(), rank0.log(0, ["a": 1]), rank0.end())
        #expect(!harness.merger.isFinished)
        try harness.tick(at: 30)
        #expect(harness.status(1) == .lost)
        #expect(harness.status(0) == .finished)
        #expect(harness.merger.isFinished)
        #expect(harness.completedSteps == [0])
    }

    @Test("a record for a new step after the run finished completes on arrival, an evaluator's included")
    func recordAfterFinish() throws {
        var rank0 = Worker(rank: 0)
        var rank1 = Worker(rank: 1)
        var evaluator = Worker(rank: 2)
        let harness = try MergeHarness()
        try harness.send(rank0.hello(), rank1.hello(), evaluator.hello())
        try harness.send(rank0.log(0, ["a": 1]), rank1.log(0, ["a": 2]), rank0.end(), rank1.end())
        #expect(harness.merger.isFinished)
        try harness.send(evaluator.log(5, ["eval": 0.5]))
        #expect(harness.completedSteps == [0, 5])
        #expect(harness.merger.openStepCount == 0)
        #expect(harness.reduction("eval", at: 5)?.count == 1)
        #expect(harness.summary("eval")?.last == SeriesPoint(step: 5, value: 0.5))
    }

    @Test("an auxiliary rank that rejoins after being lost never holds steps back")
    func auxiliaryRejoin() throws {
        var rank0 = Worker(rank: 0)
        var rank1 = Worker(rank: 1)
        var evaluator = Worker(rank: 2)
        let harness = try MergeHarness(rankTimeout: 10)
        try harness.send(rank0.hello(), rank1.hello(), evaluator.hello(), evaluator.log(0, ["eval": 1]))
        try harness.send((0...5).flatMap { [rank0.log($0, ["a": 1]), rank1.log($0, ["a": 1])] })
        #expect(harness.completedSteps == Array(0...5))
        harness.now = 20
        try harness.send(rank0.heartbeat(), rank1.heartbeat())
        try harness.tick(at: 21)
        #expect(harness.status(2) == .lost)
        try harness.send(evaluator.heartbeat())
        #expect(harness.status(2) == .active)
        try harness.send((6...9).flatMap { [rank0.log($0, ["a": 1]), rank1.log($0, ["a": 1])] })
        #expect(harness.completedSteps == Array(0...9))
        #expect(harness.merger.openStepCount == 0)
    }

    @Test("an auxiliary rank that rejoins after being lost does not make a finished run unfinished")
    func auxiliaryRejoinAfterFinish() throws {
        var rank0 = Worker(rank: 0, worldSize: 1)
        let evaluator = Worker(rank: 2, worldSize: 1)
        let harness = try MergeHarness(rankTimeout: 10)
        try harness.send(rank0.hello(), evaluator.hello(), rank0.log(0, ["a": 1]), rank0.end())
        #expect(harness.merger.isFinished)
        try harness.tick(at: 30)
        #expect(harness.status(2) == .lost)
        try harness.send(evaluator.heartbeat())
        #expect(harness.status(2) == .active)
        #expect(harness.merger.isFinished)
    }

    @Test("a restarted incarnation makes a finished rank active again")
    func restartAfterEnd() throws {
        var first = Worker(rank: 0, incarnation: "first", worldSize: 1, startTime: 1)
        let second = Worker(rank: 0, incarnation: "second", worldSize: 1, startTime: 2)
        let harness = try MergeHarness()
        try harness.send(first.hello(), first.log(0, ["a": 1]), first.end())
        #expect(harness.merger.isFinished)
        try harness.send(second.hello())
        #expect(harness.status(0) == .active)
        #expect(!harness.merger.isFinished)
    }

    @Test("gaps are reported per rank and incarnation up to the highest number known, and clear")
    func gaps() throws {
        let rank0 = Worker(rank: 0, worldSize: 1)
        let harness = try MergeHarness()
        try harness.send(rank0.hello())
        try harness.send([1, 2, 5].map { rank0.log(seq: $0, step: $0) })
        #expect(harness.merger.gaps() == [0: [rank0.incarnation: [3...4]]])
        try harness.send(rank0.heartbeat(lastSeq: 7))
        #expect(harness.merger.gaps() == [0: [rank0.incarnation: [3...4, 6...7]]])
        #expect(harness.merger.gaps(limit: 1) == [0: [rank0.incarnation: [3...4]]])
        try harness.send([4, 3, 7, 6].map { rank0.log(seq: $0, step: $0) })
        #expect(harness.merger.gaps().isEmpty)
        try harness.send(rank0.end(lastSeq: 9))
        #expect(harness.merger.gaps() == [0: [rank0.incarnation: [8...9]]])
        try harness.send(rank0.log(seq: 8, step: 8), rank0.log(seq: 9, step: 9))
        #expect(harness.merger.gaps().isEmpty)
    }

    @Test("a record numbered Int64.max, which the decoder accepts, leaves gaps() able to list the gap below it")
    func highestSequenceNumber() async {
        await #expect(processExitsWith: .success) {
            let rank0 = Worker(rank: 0, worldSize: 1)
            let harness = try! MergeHarness()
            try! harness.send(rank0.hello(), rank0.log(seq: .max, step: 0, ["a": 1]))
            precondition(harness.merger.gaps() == [0: [rank0.incarnation: [1...(.max - 1)]]])
        }
    }
}

import Testing

@testable import ChorusCore

/// A run of three world ranks and an evaluator: attempt 0 logs steps 0…29, then every rank
/// restarts as attempt 1 (ranks 0 and 1 resume at step 24; rank 2 names no resume step and
/// logs from 25), rank 2 also restarts once within attempt 0, the evaluator logs late, and
/// some records arrive twice.
private struct PermutationRun {
    var hellos: [WireMessage] = []
    var logs: [WireMessage] = []
    var ends: [WireMessage] = []

    init() {
        var random = SeededGenerator(seed: 42)
        var old = (0..<3).map { Worker(rank: Int32($0), worldSize: 3, startTime: 100) }
        var restarted = Worker(rank: 2, incarnation: "r2-a0-again", worldSize: 3, startTime: 150)
        var new = (0..<3).map {
            Worker(rank: Int32($0), worldSize: 3, attempt: 1, resumeStep: $0 < 2 ? 24 : nil, startTime: 200)
        }
        var evaluator = Worker(rank: 3, worldSize: 3, startTime: 100)
        let definer = Worker(rank: 0, incarnation: "definer", worldSize: 3, startTime: 50)
        hellos = old.map { $0.hello() } + new.map { $0.hello() } + [restarted.hello(), evaluator.hello()]
        hellos += [definer.hello(), definer.define("eval/*", reduce: .max, goal: .max)]

        func values(step: Int64, rank: Int, attempt: Int) -> KeyValuePairs<String, MetricValue> {
            let loss = MetricValue.double(Double.random(in: 0.01...3, using: &random) / Double(step + 1))
            let tokens = MetricValue.integer(Int64.random(in: 0...(1 << 40), using: &random))
            let phase = MetricValue.other(#""a\#(attempt)-s\#(step)""#)
            let grad: MetricValue = (step + Int64(rank)) % 13 == 0 ? .double(.nan) : .double(Double(step) * 1e-3)
            return ["loss": loss, "tokens": tokens, "phase": phase, "grad/norm": grad]
        }
        for step in Int64(0)...29 {
            for rank in 0..<3 { logs.append(old[rank].log(step, values(step: step, rank: rank, attempt: 0))) }
        }
        for step in Int64(10)...14 {
            logs.append(restarted.log(step, ["loss": .double(Double(step) / 7), "tokens": .integer(step)]))
        }
        for step in Int64(24)...44 {
            for rank in 0..<3 where rank < 2 || step >= 25 {
                logs.append(new[rank].log(step, values(step: step, rank: rank, attempt: 1)))
            }
        }
        for step: Int64 in [5, 10, 15, 20, 30, 40] {
            logs.append(evaluator.log(step, ["eval/acc": .double(0.5 + Double(step) / 100), "eval/n": 100]))
        }
        logs.append(new[0].log(20, ["eval/late": 0.25]))
        logs.append(new[0].log(30, ["eval/late": 0.75]))
        logs += (0..<20).map { _ in logs.randomElement(using: &random)! }
        ends = old.map { $0.end() } + new.map { $0.end() } + [restarted.end(), evaluator.end()]
    }

    /// The outcome of the run with its logs in `order`.
    func merge(_ order: [WireMessage], configuration: (maxOpenSteps: Int, cache: Int)) throws -> MergeHarness {
        let harness = try MergeHarness(
            maxOpenSteps: configuration.maxOpenSteps, completedStepCache: configuration.cache)
        try harness.send(hellos + order + ends)
        try harness.merger.completeAllOpenSteps()
        return harness
    }
}

@Suite("RunMerger: the outcome never depends on arrival order")
struct RunMergerPermutationTests {
    private static let run = PermutationRun()

    @Test("the run is big enough to mean something, and its in-order outcome is as designed")
    func reference() throws {
        let run = Self.run
        #expect(run.hellos.count + run.logs.count + run.ends.count >= 200)
        let harness = try run.merge(run.logs, configuration: (1_000, 1_024))
        #expect(harness.merger.statistics.duplicates == 20)
        #expect(harness.merger.isFinished)
        // Rows: attempt 0 below the restart, attempt 1 from it, the evaluator's six.
        #expect(harness.history.filter { $0.rank == 0 }.count == 24 + 21)
        #expect(harness.history.filter { $0.rank == 2 }.count == 25 + 20)
        #expect(harness.history.filter { $0.rank == 3 }.count == 6)
        #expect(harness.values(step: 12, rank: 2)?["tokens"] == .integer(12))
        #expect(harness.values(step: 24, rank: 2)?["phase"] == .other(#""a0-s24""#))
        #expect(harness.values(step: 30, rank: 0)?["eval/late"] == 0.75)
        #expect(harness.summary("phase")?.latestText == PlacedText(step: 44, rank: 2, text: #""a1-s44""#))
        #expect(harness.summary("eval/acc")?.best(harness.merger.goal(of: "eval/acc"))?.step == 40)
        #expect(harness.summary("grad/norm")?.nonfinite ?? 0 > 0)
    }

    @Test(
        "20 seeded permutations give identical history, reductions, summaries and duplicate counts",
        arguments: [(1_000, 1_024), (4, 1_024), (1_000, 0), (3, 0)] as [(Int, Int)]
    )
    func permutations(maxOpenSteps: Int, cache: Int) throws {
        let run = Self.run
        let reference = try run.merge(run.logs, configuration: (1_000, 1_024)).outcome
        var random = SeededGenerator(seed: UInt64(maxOpenSteps * 10_000 + cache))
        for round in 0..<20 {
            let order = run.logs.shuffled(using: &random)
            let outcome = try run.merge(order, configuration: (maxOpenSteps, cache)).outcome
            #expect(outcome == reference, "round \(round): \(outcome.firstDifference(from: reference))")
            if outcome != reference { break }
        }
    }

    @Test(
        "a merger restarted from the store three times, sent its last records again each time, ends as never stopped",
        arguments: [(1_000, 1_024), (4, 0)] as [(Int, Int)]
    )
    func restarts(maxOpenSteps: Int, cache: Int) throws {
        let run = Self.run
        let reference = try run.merge(run.logs, configuration: (1_000, 1_024)).outcome
        var random = SeededGenerator(seed: UInt64(maxOpenSteps + cache))
        let messages = run.hellos + run.logs.shuffled(using: &random) + run.ends
        for round in 0..<12 {
            let harness = try MergeHarness(maxOpenSteps: maxOpenSteps, completedStepCache: cache)
            let cuts = (0..<3).map { _ in Int.random(in: 1..<messages.count, using: &random) }.sorted()
            var resent = 0
            for (index, message) in messages.enumerated() {
                try harness.send(message)
                if cuts.contains(index) {
                    try harness.restart()
                    // A client resends what the last commit may not have held.
                    let again = messages[max(0, index - 9)...index]
                    resent += again.filter { if case .log = $0 { true } else { false } }.count
                    try harness.send(Array(again))
                }
            }
            try harness.merger.completeAllOpenSteps()
            var outcome = harness.outcome
            #expect(outcome.duplicates == reference.duplicates + Int64(resent), "round \(round)")
            outcome.duplicates = reference.duplicates
            #expect(outcome == reference, "round \(round): \(outcome.firstDifference(from: reference))")
            #expect(harness.merger.isFinished)
            if outcome != reference { break }
        }
    }
}

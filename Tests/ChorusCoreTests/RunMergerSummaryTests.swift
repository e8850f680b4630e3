import Testing

@testable import ChorusCore

@Suite("RunMerger: summaries, definitions and values that are not finite numbers")
struct RunMergerSummaryTests {
    /// Two ranks log `loss` at steps 0…3; the per-step means are 5, 2, 10, 7 and maxima 6, 3, 11, 8.
    private static func fourSteps(_ harness: MergeHarness, before: [WireMessage] = []) throws {
        var rank0 = Worker(rank: 0)
        var rank1 = Worker(rank: 1)
        let pairs: [(Double, Double)] = [(4, 6), (1, 3), (9, 11), (6, 8)]
        var logs: [WireMessage] = []
        for (step, pair) in pairs.enumerated() {
            logs.append(rank0.log(Int64(step), ["loss": .double(pair.0)]))
            logs.append(rank1.log(Int64(step), ["loss": .double(pair.1)]))
        }
        try harness.send([rank0.hello(), rank1.hello()] + before + logs)
    }

    @Test("NaN and infinities are counted as nonfinite, kept raw in the history and left out of the rest")
    func nonFinite() throws {
        var rank0 = Worker(rank: 0)
        var rank1 = Worker(rank: 1)
        let harness = try MergeHarness()
        try harness.send(rank0.hello(), rank1.hello())
        try harness.send(rank0.log(0, ["loss": .double(.nan)]), rank1.log(0, ["loss": 2.0]))
        try harness.send(rank0.log(1, ["loss": .double(.infinity)]), rank1.log(1, ["loss": .double(-.infinity)]))
        #expect(harness.values(step: 0, rank: 0)?["loss"]?.doubleValue?.isNaN == true)
        #expect(harness.values(step: 1, rank: 1)?["loss"] == .double(-.infinity))
        let step0 = try #require(harness.reduction("loss", at: 0))
        #expect(exactText(step0) == "count 2 nonfinite 1 sum 2.0d mean 2.0 min 2.0d max 2.0d ranks 1/1")
        let step1 = try #require(harness.reduction("loss", at: 1))
        #expect(exactText(step1) == "count 2 nonfinite 2 sum nil mean nil min nil max nil ranks -/-")
        let summary = try #require(harness.summary("loss"))
        #expect(summary.count == 4)
        #expect(summary.nonfinite == 3)
        #expect(summary.mean == 2)
        #expect(summary.first == SeriesPoint(step: 0, value: 2))
        #expect(summary.last == SeriesPoint(step: 0, value: 2))
    }

    @Test("the summary follows the mean headline by default: first, last, min and max with their steps")
    func meanHeadline() throws {
        let harness = try MergeHarness()
        try Self.fourSteps(harness)
        let summary = try #require(harness.summary("loss"))
        #expect(summary.first == SeriesPoint(step: 0, value: 5))
        #expect(summary.last == SeriesPoint(step: 3, value: 7))
        #expect(summary.min == SeriesPoint(step: 1, value: 2))
        #expect(summary.max == SeriesPoint(step: 2, value: 10))
        #expect(summary.best(nil) == nil)
        #expect(harness.merger.reduceOperation(of: "loss") == .mean)
    }

    @Test(
        "a definition with reduce: max changes the headline, for steps already complete too", arguments: [false, true])
    func defineMax(definedFirst: Bool) throws {
        let harness = try MergeHarness()
        let definition = Worker(rank: 0).define("loss", reduce: .max, goal: .min)
        try Self.fourSteps(harness, before: definedFirst ? [definition] : [])
        if !definedFirst { try harness.send(definition) }
        let summary = try #require(harness.summary("loss"))
        #expect(summary.first == SeriesPoint(step: 0, value: 6))
        #expect(summary.last == SeriesPoint(step: 3, value: 8))
        #expect(summary.min == SeriesPoint(step: 1, value: 3))
        #expect(summary.max == SeriesPoint(step: 2, value: 11))
        #expect(summary.best(harness.merger.goal(of: "loss")) == SeriesPoint(step: 1, value: 3))
        #expect(summary.mean == 6)
    }

    @Test("a prefix definition ending in * applies to every key it starts, and the longest prefix wins")
    func prefixDefinitions() throws {
        var rank0 = Worker(rank: 0, worldSize: 1)
        let harness = try MergeHarness()
        try harness.send(rank0.hello(), rank0.define("val/*", reduce: .sum), rank0.define("val/a*", reduce: .min))
        try harness.send(rank0.log(0, ["val/loss": 2, "val/acc": 3, "train/loss": 4, "val": 5]))
        #expect(harness.merger.reduceOperation(of: "val/loss") == .sum)
        #expect(harness.merger.reduceOperation(of: "val/acc") == .min)
        #expect(harness.merger.reduceOperation(of: "train/loss") == .mean)
        #expect(harness.merger.reduceOperation(of: "val") == .mean)
        try harness.send(rank0.define("val/acc", reduce: .max), rank0.define("val/*", reduce: .mean))
        #expect(harness.merger.reduceOperation(of: "val/acc") == .max)
        #expect(harness.merger.reduceOperation(of: "val/loss") == .mean)
    }

    @Test("the summary mean is over every raw value, never a mean of step means")
    func rawMean() throws {
        var rank0 = Worker(rank: 0)
        var rank1 = Worker(rank: 1)
        let harness = try MergeHarness()
        try harness.send(rank0.hello(), rank1.hello())
        try harness.send(rank0.log(0, ["loss": 1.0]), rank1.log(0, ["loss": 3.0]))
        try harness.send(rank0.log(1, ["loss": 10.0]), rank1.log(1))
        let summary = try #require(harness.summary("loss"))
        #expect(summary.mean == 14.0 / 3)
        #expect(summary.count == 3)
        #expect(summary.first == SeriesPoint(step: 0, value: 2))
        #expect(summary.last == SeriesPoint(step: 1, value: 10))
    }

    @Test(
        "non-numeric values are kept, not reduced; the summary keeps the one at the highest (step, rank)",
        arguments: [false, true])
    func nonNumeric(reversed: Bool) throws {
        var rank0 = Worker(rank: 0)
        var rank1 = Worker(rank: 1)
        var logs = [
            rank0.log(0, ["phase": "warmup", "loss": 1.0]), rank1.log(0, ["phase": "warm"]),
            rank0.log(1, ["phase": "train"]), rank1.log(1, ["phase": .other("[1,2]")]),
            rank0.log(2, ["loss": 2.0]), rank1.log(2, ["loss": 2.0]),
        ]
        if reversed { logs.reverse() }
        let harness = try MergeHarness()
        try harness.send([rank0.hello(), rank1.hello()] + logs)
        #expect(harness.values(step: 0, rank: 0) == ["phase": .other(#""warmup""#), "loss": 1.0])
        #expect(harness.reduction("phase", at: 0) == nil)
        #expect(harness.reduction("phase", at: 1) == nil)
        let summary = try #require(harness.summary("phase"))
        #expect(summary.latestText == PlacedText(step: 1, rank: 1, text: "[1,2]"))
        #expect(summary.count == 0)
        #expect(summary.first == nil)
        #expect(harness.summary("loss")?.count == 3)
    }

    @Test("the kept non-numeric value comes from complete steps only, also after late data rebuilds it")
    func textFromCompleteSteps() throws {
        var rank0 = Worker(rank: 0)
        var rank1 = Worker(rank: 1)
        let harness = try MergeHarness()
        try harness.send(rank0.hello(), rank1.hello(), rank0.log(0, ["phase": "a"]), rank1.log(0, ["phase": "a"]))
        try harness.send(rank0.log(1, ["phase": "b"]))
        #expect(harness.completedSteps == [0])
        #expect(harness.summary("phase")?.latestText == PlacedText(step: 0, rank: 1, text: #""a""#))
        // Late data replaces rank 0's value at step 0; step 1 is still open.
        try harness.send(rank0.log(0, ["phase": "c"]))
        #expect(harness.values(step: 0, rank: 0) == ["phase": "c"])
        #expect(harness.summary("phase")?.latestText == PlacedText(step: 0, rank: 1, text: #""a""#))
    }

    @Test("late data that moves a headline extreme away from its step rebuilds the summary")
    func lateDataMovesExtremes() throws {
        let harness = try MergeHarness()
        try Self.fourSteps(harness)
        // An auxiliary rank raises step 1's mean from 2 to 12: the minimum moves to step 0.
        var evaluator = Worker(rank: 9)
        try harness.send(evaluator.hello(), evaluator.log(1, ["loss": 32.0]))
        let summary = try #require(harness.summary("loss"))
        #expect(summary.min == SeriesPoint(step: 0, value: 5))
        #expect(summary.max == SeriesPoint(step: 1, value: 12))
        #expect(summary.count == 9)
        #expect(summary.mean == 80.0 / 9)
    }

    @Test("values the user sets on the summary are kept beside it, a later one replacing an earlier")
    func userSummary() throws {
        let sender = Worker(rank: 0).sender
        let harness = try MergeHarness()
        try harness.send(
            .summary(UserSummary(sender: sender, values: [MetricEntry("best", 0.9), MetricEntry("tag", "a")])))
        try harness.send(.summary(UserSummary(sender: sender, values: [MetricEntry("best", 0.93)])))
        #expect(harness.merger.userSummary == ["best": 0.93, "tag": "a"])
    }
}

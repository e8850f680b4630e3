import ChorusCore
import Testing

@testable import ChorusClient

@Suite("wandb's step and commit rules, except that a lower step is never dropped")
struct StepAccumulatorTests {
    /// One `log` call: values, step, commit.
    typealias Call = (values: [String: Int64], step: Int64?, commit: Bool?)

    /// Applies `calls` then `flush()`, returning every row sent as (step, values).
    private func rows(_ calls: [Call]) -> [(Int64, [String: Int64])] {
        var accumulator = StepAccumulator()
        var sent: [StepAccumulator.ReadyRow] = []
        for call in calls {
            let entries = call.values.sorted { $0.key < $1.key }.map { MetricEntry($0.key, .integer($0.value)) }
            sent += accumulator.log(entries, step: call.step, commit: call.commit, timestamp: 0)
        }
        if let last = accumulator.flush() { sent.append(last) }
        return sent.map { row in
            (
                row.step,
                Dictionary(
                    uniqueKeysWithValues: row.values.map { entry -> (String, Int64) in
                        guard case .integer(let value) = entry.value else { return (entry.key, -1) }
                        return (entry.key, value)
                    })
            )
        }
    }

    @Test("commit false accumulates, a higher step closes the pending row, finish flushes the last")
    func commitFalseCase() {
        let sent = rows([
            (["a": 1], nil, false), (["b": 2], nil, false), (["a": 3], nil, nil), (["c": 4], 5, nil),
            (["d": 5], 5, nil), (["e": 6], 7, false),
        ])
        #expect(sent.map(\.0) == [0, 5, 7])
        #expect(sent.map(\.1) == [["a": 3, "b": 2], ["c": 4, "d": 5], ["e": 6]])
    }

    @Test("calls without a step advance it; a lower explicit step is sent at once as its own row")
    func implicitStepsCase() {
        let sent = rows([
            (["gen": 12], nil, nil), (["export": 3], nil, nil), (["loss": 20], 1, nil),
            (["gen": 11], nil, nil), (["loss": 18], 2, nil),
        ])
        #expect(sent.map(\.0) == [0, 1, 1, 2, 2])
        #expect(sent.map(\.1) == [["gen": 12], ["export": 3], ["loss": 20], ["gen": 11], ["loss": 18]])
    }

    @Test("commit true with a step sends the row now and moves past it")
    func commitTrueWithStep() {
        var accumulator = StepAccumulator()
        let sent = accumulator.log([MetricEntry("x", 1)], step: 4, commit: true, timestamp: 0)
        #expect(sent.map(\.step) == [4])
        #expect(accumulator.currentStep == 5)
        #expect(accumulator.flush() == nil)
    }

    @Test("an empty log is a report: it makes a row with no values")
    func emptyReport() {
        #expect(rows([([:], nil, nil)]).map(\.0) == [0])
        #expect(rows([([:], nil, nil)]).first?.1 == [:])
    }

    @Test("a lower step leaves the pending row and the current step alone")
    func lowerStepKeepsPending() {
        var accumulator = StepAccumulator()
        _ = accumulator.log([MetricEntry("a", 1)], step: 10, commit: nil, timestamp: 0)
        let late = accumulator.log([MetricEntry("eval", 2)], step: 3, commit: true, timestamp: 0)
        #expect(late.map(\.step) == [3])
        #expect(accumulator.currentStep == 10)
        #expect(accumulator.flush()?.values == [MetricEntry("a", 1)])
    }

    @Test("the later value of a key wins within a pending row; the row keeps first-logged order")
    func laterValueWins() {
        var accumulator = StepAccumulator()
        _ = accumulator.log([MetricEntry("b", 1), MetricEntry("a", 1)], step: nil, commit: false, timestamp: 1)
        let sent = accumulator.log([MetricEntry("b", 2)], step: nil, commit: nil, timestamp: 2)
        #expect(sent.first?.values == [MetricEntry("b", 2), MetricEntry("a", 1)])
        #expect(sent.first?.timestamp == 2)
    }
}

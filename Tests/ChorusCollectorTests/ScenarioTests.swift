import ChorusCore
import Foundation
import Testing

@Suite("The scenarios of shared/cases, through the real protocol into a real collector")
struct ScenarioTests {
    @Test("Each case ends with exactly the outcome it expects", arguments: try ScenarioCase.all())
    func outcome(of scenario: ScenarioCase) throws {
        let runner = try ScenarioRunner(scenario)
        let atChecks = try runner.play(scenario.input)
        try runner.settle()
        let atEnd = try awaitExpectation(scenario.expect, runner: runner)
        let differences = atChecks + atEnd
        #expect(
            differences.isEmpty,
            "case \(scenario.id): \(differences.first ?? "") (\(differences.count) difference(s) in all)"
        )
    }

    @Test(
        "Shuffling a case's messages leaves history, reductions, summary and duplicates identical",
        arguments: try ScenarioCase.all().filter { $0.isMessageCase && $0.input.count < 1_000 }
    )
    func permutationsChangeNothing(of scenario: ScenarioCase) throws {
        // Ranks are lost on the collector's clock: wait for what the case expects to settle.
        let settled = scenario.expect.filtering(["history", "steps", "summary", "finished", "ranks"])
        let baseline = try ScenarioRunner(scenario)
        _ = try baseline.play(scenario.input, verifyChecks: false)
        try baseline.settle()
        #expect(
            try awaitExpectation(settled, runner: baseline).isEmpty,
            "case \(scenario.id) in its own order does not meet its expectation"
        )
        let expected = try baseline.snapshot()
        var generator = SeededGenerator(seed: 0x5eed)
        for permutation in 1...5 {
            let runner = try ScenarioRunner(scenario)
            _ = try runner.play(scenario.shuffled(using: &generator), verifyChecks: false)
            try runner.settle()
            _ = try awaitExpectation(settled, runner: runner)
            let differences = try runner.snapshot().differences(from: expected)
            #expect(
                differences.isEmpty,
                "case \(scenario.id), permutation \(permutation): \(differences.first ?? "")"
            )
        }
    }

    /// The differences from `expect`, once they are gone or a deadline passes: ranks are lost
    /// and runs finish on the collector's clock, not the moment the input ends.
    private func awaitExpectation(_ expect: JSONObject, runner: ScenarioRunner) throws -> [String] {
        let patience = (runner.scenario.rankTimeout.map { min($0, 60) } ?? 0) + 5
        let deadline = Date().addingTimeInterval(patience)
        while true {
            runner.collector.sync()
            let differences = ScenarioExpectation.differences(expect, in: try runner.snapshot())
            if differences.isEmpty || Date() >= deadline { return differences }
            Thread.sleep(forTimeInterval: 0.05)
        }
    }
}

extension JSONObject {
    /// Only the entries whose keys are in `keys`.
    func filtering(_ keys: Set<String>) -> JSONObject {
        JSONObject(filter { keys.contains($0.key) })
    }
}


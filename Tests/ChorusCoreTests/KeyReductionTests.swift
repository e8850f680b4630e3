import Testing

@testable import ChorusCore

/// Values logged by ranks for one key at one step, and the reduction they must give.
struct ReductionCase: Sendable, CustomTestStringConvertible {
    let name: String
    let values: [(rank: Int32, value: MetricValue)]
    let expected: KeyReduction

    init(_ name: String, _ values: [MetricValue], _ expected: KeyReduction) {
        self.init(name, ranked: values.enumerated().map { (Int32($0.offset), $0.element) }, expected)
    }

    init(_ name: String, ranked values: [(rank: Int32, value: MetricValue)], _ expected: KeyReduction) {
        self.name = name
        self.values = values
        self.expected = expected
    }

    var testDescription: String { name }
}

/// A reduction with every field given; the ranks of the extremes default to none.
private func reduction(
    count: Int,
    nonfinite: Int = 0,
    sum: ReducedNumber? = nil,
    mean: Double? = nil,
    min: (ReducedNumber, Int32)? = nil,
    max: (ReducedNumber, Int32)? = nil
) -> KeyReduction {
    KeyReduction(
        count: count,
        nonfinite: nonfinite,
        sum: sum,
        mean: mean,
        min: min?.0,
        minRank: min?.1,
        max: max?.0,
        maxRank: max?.1
    )
}

@Suite("KeyReduction: one key at one step, reduced across ranks")
struct KeyReductionTests {
    static let cases: [ReductionCase] = [
        ReductionCase(
            "integers only: an exact integer sum",
            [3, 4, 5],
            reduction(count: 3, sum: .integer(12), mean: 4, min: (.integer(3), 0), max: (.integer(5), 2))
        ),
        ReductionCase(
            "integers whose sum overflows Int64 give the rounded double, not a wrapped integer",
            [.integer(.max), .integer(.max)],
            reduction(
                count: 2,
                sum: .double(18_446_744_073_709_551_616),
                mean: 9.223372036854775808e18,
                min: (.integer(.max), 0),
                max: (.integer(.max), 0)
            )
        ),
        ReductionCase(
            "Int64.max + 1 is 2^63 as a double",
            [.integer(.max), 1],
            reduction(
                count: 2,
                sum: .double(9_223_372_036_854_775_808),
                mean: 4.611686018427387904e18,
                min: (.integer(1), 1),
                max: (.integer(.max), 0)
            )
        ),
        ReductionCase(
            "a sum that passes Int64.max on the way but ends inside stays an exact integer",
            [.integer(.max), 1, -1],
            reduction(
                count: 3,
                sum: .integer(.max),
                mean: 3.0744573456182584e18,
                min: (.integer(-1), 2),
                max: (.integer(.max), 0)
            )
        ),
        ReductionCase(
            "Int64.min - 1 is a double too",
            [.integer(.min), -1],
            reduction(
                count: 2,
                sum: .double(-9_223_372_036_854_775_808),
                mean: -4.611686018427387904e18,
                min: (.integer(.min), 0),
                max: (.integer(-1), 1)
            )
        ),
        ReductionCase(
            "mixed integers and doubles sum to a double",
            [1, 2.5],
            reduction(count: 2, sum: .double(3.5), mean: 1.75, min: (.integer(1), 0), max: (.double(2.5), 1))
        ),
        ReductionCase(
            "an integer and a double are summed exactly, not through Double(integer)",
            [.integer(.max), -9_223_372_036_854_775_808.0],
            reduction(
                count: 2,
                sum: .double(-1),
                mean: -0.5,
                min: (.double(-9_223_372_036_854_775_808.0), 1),
                max: (.integer(.max), 0)
            )
        ),
        ReductionCase(
            "NaN and the infinities are counted as nonfinite and left out of the rest",
            [.double(.nan), 2, .double(.infinity), .double(-.infinity), 4],
            reduction(
                count: 5, nonfinite: 3, sum: .integer(6), mean: 3, min: (.integer(2), 1), max: (.integer(4), 4)
            )
        ),
        ReductionCase(
            "without a finite value every other field is nil",
            [.double(.nan), .double(.infinity)],
            reduction(count: 2, nonfinite: 2)
        ),
        ReductionCase("no values at all", [], reduction(count: 0)),
        ReductionCase("only non-numeric values", ["warmup", true], reduction(count: 0)),
        ReductionCase(
            "non-numeric values are ignored beside numbers",
            [1, "x", .other("null"), 3],
            reduction(count: 2, sum: .integer(4), mean: 2, min: (.integer(1), 0), max: (.integer(3), 3))
        ),
        ReductionCase(
            "ties go to the lowest rank, whatever type holds the value",
            ranked: [(3, 1), (1, 1.0), (2, 5), (0, 5.0)],
            reduction(count: 4, sum: .double(12), mean: 3, min: (.double(1), 1), max: (.double(5), 0))
        ),
        ReductionCase(
            "2^53 + 1 is above the double 2^53, though Double(2^53 + 1) is not",
            [.integer(9_007_199_254_740_993), 9_007_199_254_740_992.0],
            reduction(
                count: 2,
                sum: .double(18_014_398_509_481_984),
                mean: 9_007_199_254_740_992,
                min: (.double(9_007_199_254_740_992), 1),
                max: (.integer(9_007_199_254_740_993), 0)
            )
        ),
        ReductionCase(
            "the mean of huge doubles does not overflow",
            [1.7e308, 1.7e308],
            reduction(
                count: 2,
                sum: .double(.infinity),
                mean: 1.7e308,
                min: (.double(1.7e308), 0),
                max: (.double(1.7e308), 0)
            )
        ),
        ReductionCase(
            "0.1 ten times sums to exactly 1",
            Array(repeating: 0.1, count: 10),
            reduction(count: 10, sum: .double(1), mean: 0.1, min: (.double(0.1), 0), max: (.double(0.1), 0))
        ),
    ]

    @Test("each table case reduces to its expected fields", arguments: cases)
    func table(_ testCase: ReductionCase) {
        let reduced = KeyReduction(testCase.values)
        #expect(exactText(reduced) == exactText(testCase.expected))
        #expect(reduced == testCase.expected)
    }

    @Test("the order of the inputs never matters", arguments: cases)
    func shuffled(_ testCase: ReductionCase) {
        var random = SeededGenerator(seed: UInt64(testCase.name.utf8.count))
        let reference = KeyReduction(testCase.values)
        for _ in 0..<20 {
            let reduced = KeyReduction(testCase.values.shuffled(using: &random))
            #expect(exactText(reduced) == exactText(reference))
        }
    }

    @Test(
        "the headline picks the field an operation names",
        arguments: [
            (.mean, 5), (.sum, 15), (.min, 2), (.max, 9),
        ] as [(ReduceOperation, Double)]
    )
    func headline(operation: ReduceOperation, expected: Double) {
        let values: [(rank: Int32, value: MetricValue)] = [(0, 2), (1, 4.0), (2, 9)]
        let reduced = KeyReduction(values)
        #expect(reduced.headline(operation) == expected)
    }

    @Test("without a finite value there is no headline", arguments: ReduceOperation.allCases)
    func noHeadline(operation: ReduceOperation) {
        #expect(KeyReduction([(0, .double(.nan))]).headline(operation) == nil)
        #expect(KeyReduction([] as [(rank: Int32, value: MetricValue)]).headline(operation) == nil)
    }

    @Test("the sum headline of an overflowing integer sum is the rounded double")
    func overflowingSumHeadline() {
        let reduced = KeyReduction([(0, .integer(.max)), (1, .integer(.max))])
        #expect(reduced.headline(.sum) == 18_446_744_073_709_551_616)
    }
}

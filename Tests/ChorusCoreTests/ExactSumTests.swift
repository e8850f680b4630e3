import Testing

@testable import ChorusCore

@Suite("ExactSum: an order-independent, exactly rounded sum")
struct ExactSumTests {
    private static func sum(_ terms: [Double]) -> ExactSum {
        var sum = ExactSum()
        for term in terms { sum.add(term) }
        return sum
    }

    private static func sum(_ terms: [Int64]) -> ExactSum {
        var sum = ExactSum()
        for term in terms { sum.add(term) }
        return sum
    }

    @Test(
        "the sum is the exact sum rounded once, where adding in order is not",
        arguments: [
            ([1e16, 1, -1e16], 1.0),
            (Array(repeating: 0.1, count: 10), 1.0),
            ([0.1, 0.2, -0.3], 2.7755575615628914e-17),
            ([9_007_199_254_740_992, 1, 1], 9_007_199_254_740_994),
            ([1e100, 1, -1e100, 1e-100], 1),
            ([], 0),
        ] as [([Double], Double)]
    )
    func exactness(terms: [Double], expected: Double) {
        #expect(Self.sum(terms).value == expected)
    }

    @Test("naive summation really does get those sums wrong, so the table above means something")
    func naiveSummationDiffers() {
        #expect([1e16, 1, -1e16].reduce(0, +) == 0)
        #expect(Array(repeating: 0.1, count: 10).reduce(0, +) == 0.9999999999999999)
    }

    @Test("every permutation of a multiset gives a bit-identical value, equal to the exact sum")
    func permutations() {
        var random = SeededGenerator(seed: 7)
        // Terms m·2^e with |m| < 2^20 and -20 ≤ e ≤ 20 are whole multiples of 2^-20 below
        // 2^40, so Int128 adds them exactly and gives the reference.
        var terms: [Double] = []
        var exactUnits: Int128 = 0
        for _ in 0..<300 {
            let mantissa = Int64.random(in: -(1 << 20)...(1 << 20), using: &random)
            let exponent = Int.random(in: -20...20, using: &random)
            terms.append(Double(sign: .plus, exponent: exponent, significand: Double(mantissa)))
            exactUnits += Int128(mantissa) << (exponent + 20)
        }
        let expected = Double(sign: .plus, exponent: -20, significand: Double(exactUnits))
        let reference = Self.sum(terms).value
        #expect(reference == expected)
        for _ in 0..<100 {
            let value = Self.sum(terms.shuffled(using: &random)).value
            #expect(value.bitPattern == reference.bitPattern)
        }
    }

    @Test("adding terms and removing them again, in another order, leaves exactly zero")
    func addThenRemove() {
        var random = SeededGenerator(seed: 11)
        let doubles = (0..<200).map { _ in Double.random(in: -1e6...1e6, using: &random) * 1e-3 }
        let integers = (0..<50).map { _ in Int64.random(in: .min ... .max, using: &random) }
        var sum = ExactSum()
        for term in doubles { sum.add(term) }
        for term in integers { sum.add(term) }
        #expect(!sum.isZero)
        for term in integers.shuffled(using: &random) { sum.remove(term) }
        for term in doubles.shuffled(using: &random) { sum.remove(term) }
        #expect(sum.isZero)
        #expect(sum.value == 0)
    }

    @Test(
        "integers near the ends of Int64 add exactly",
        arguments: [
            ([.max, .max], 18_446_744_073_709_551_614),
            ([.max, -1], 9_223_372_036_854_775_806),
            ([.min, .max], -1),
            ([.min, -1], -9_223_372_036_854_775_809),
            ([.max, .min, 1], 0),
            ([.max, -.max], 0),
            ([.min, .min, .max, .max], -2),
        ] as [([Int64], Int128)]
    )
    func extremeIntegers(terms: [Int64], exact: Int128) {
        var sum = Self.sum(terms)
        #expect(sum.value == Double(exact))
        for term in terms.reversed() { sum.remove(term) }
        #expect(sum.isZero)
    }

    @Test("an integer and a double that differ by one unit cancel exactly")
    func integerAndDouble() {
        // Int64.max is 2^63 - 1; the double 2^63 is the nearest double to it.
        var sum = ExactSum()
        sum.add(Int64.max)
        sum.add(-9_223_372_036_854_775_808.0)
        #expect(sum.value == -1)
    }

    @Test(
        "huge terms (2^900 and up) never overflow an intermediate sum",
        arguments: [
            ([1e308, 1e308, -1e308], 1e308),
            ([1.7e308, 1.7e308, -1.7e308, -1.7e308], 0),
            ([1e308, 3, -1e308], 3),
            ([0x1p900, 1, -0x1p900], 1),
            ([1e308, 1e308, 1e308, -1e308, -1e308], 1e308),
            ([1.7e308, 1.7e308], .infinity),
            ([-1.7e308, -1.7e308], -.infinity),
        ] as [([Double], Double)]
    )
    func hugeTerms(terms: [Double], expected: Double) {
        #expect(Self.sum(terms).value == expected)
        #expect(Self.sum(terms.reversed()).value == expected)
    }

    @Test(
        "a small term stays exact once the huge terms beside it cancel",
        arguments: [1e-300, 1e-100, 2.5e-60, .leastNonzeroMagnitude] as [Double]
    )
    func smallAfterHuge(small: Double) {
        var sum = ExactSum()
        sum.add(1e308)
        sum.add(small)
        sum.remove(1e308)
        #expect(sum.value == small)
        #expect(sum.mean(count: 1) == small)
    }

    @Test(
        "the mean does not overflow where the terms do not",
        arguments: [
            ([1.7e308, 1.7e308], 1.7e308),
            ([-1.7e308, -1.7e308], -1.7e308),
            ([1.7e308, 1.7e308, 1.7e308, 1.7e308], 1.7e308),
            ([1e308, 1e308, -1e308, 1], 1e308 / 4),
            ([1.7e308, -1.7e308, 3], 1),
            ([1, 2, 3, 4], 2.5),
        ] as [([Double], Double)]
    )
    func mean(terms: [Double], expected: Double) {
        #expect(Self.sum(terms).mean(count: terms.count) == expected)
    }

    @Test("the mean of integers uses the exact sum")
    func integerMean() {
        #expect(Self.sum([Int64.max, Int64.max]).mean(count: 2) == 9.223372036854775808e18)
        #expect(Self.sum([Int64.max, 1, -1]).mean(count: 3) == 3.0744573456182584e18)
    }
}

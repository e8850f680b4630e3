import Testing

@testable import ChorusCore

@Suite("MetricValue: kinds of values and exact comparison of numbers")
struct MetricValueTests {
    /// `lhs`, `rhs`, whether lhs < rhs, whether rhs < lhs.
    @Test(
        "an integer and a double compare by their exact values",
        arguments: [
            (.integer(9_007_199_254_740_993), .double(9_007_199_254_740_992), false, true),
            (.integer(9_007_199_254_740_992), .double(9_007_199_254_740_992), false, false),
            (.integer(9_007_199_254_740_991), .double(9_007_199_254_740_992), true, false),
            (.integer(.max), .double(9.223372036854776e18), true, false),
            (.integer(.max), .double(9.223372036854774784e18), false, true),
            (.integer(.min), .double(-9.223372036854775808e18), false, false),
            (.integer(.min), .double(-9.223372036854777856e18), false, true),
            (.integer(.min + 1), .double(-9.223372036854775808e18), false, true),
            (.integer(-3), .double(-2.5), true, false),
            (.integer(-2), .double(-2.5), false, true),
            (.integer(-1), .double(-1), false, false),
            (.integer(-1), .double(-0.5), true, false),
            (.integer(0), .double(-0.0), false, false),
            (.integer(0), .double(.leastNonzeroMagnitude), true, false),
            (.integer(0), .double(-.leastNonzeroMagnitude), false, true),
            (.integer(1), .double(1.0000000000000002), true, false),
            (.integer(1), .double(0.9999999999999999), false, true),
            (.integer(-9_007_199_254_740_993), .double(-9_007_199_254_740_992), true, false),
            (.integer(.max), .double(1e300), true, false),
            (.integer(.min), .double(-1e300), false, true),
        ] as [(MetricValue, MetricValue, Bool, Bool)]
    )
    func integerAgainstDouble(lhs: MetricValue, rhs: MetricValue, lhsLess: Bool, rhsLess: Bool) {
        #expect(MetricValue.numericallyLess(lhs, rhs) == lhsLess)
        #expect(MetricValue.numericallyLess(rhs, lhs) == rhsLess)
    }

    @Test(
        "two integers or two doubles compare as themselves",
        arguments: [
            (.integer(.min), .integer(.max), true, false),
            (.integer(5), .integer(5), false, false),
            (.double(-0.0), .double(0.0), false, false),
            (.double(0.1), .double(0.2), true, false),
        ] as [(MetricValue, MetricValue, Bool, Bool)]
    )
    func sameKind(lhs: MetricValue, rhs: MetricValue, lhsLess: Bool, rhsLess: Bool) {
        #expect(MetricValue.numericallyLess(lhs, rhs) == lhsLess)
        #expect(MetricValue.numericallyLess(rhs, lhs) == rhsLess)
    }

    @Test("a value that is not a number is never less or greater than anything")
    func otherNeverCompares() {
        let text: MetricValue = "warmup"
        for value: MetricValue in [1, 2.5, "other", text] {
            #expect(!MetricValue.numericallyLess(text, value))
            #expect(!MetricValue.numericallyLess(value, text))
        }
    }

    @Test("literals make the kind of value they look like")
    func literals() {
        let integer: MetricValue = 3
        let double: MetricValue = 3.0
        let string: MetricValue = "a \"quoted\" word"
        let bool: MetricValue = false
        #expect(integer == .integer(3))
        #expect(double == .double(3))
        #expect(string == .other(#""a \"quoted\" word""#))
        #expect(bool == .other("false"))
        #expect(MetricValue(7) == .integer(7))
        #expect(MetricValue(0.5) == .double(0.5))
    }

    @Test("isNumber, isNonFinite and doubleValue describe each kind")
    func properties() {
        let nan = MetricValue.double(.nan)
        #expect(nan.isNumber && nan.isNonFinite && nan.doubleValue!.isNaN)
        #expect(MetricValue.double(-.infinity).isNonFinite)
        #expect(MetricValue.integer(.max).doubleValue == 9.223372036854775808e18)
        #expect(!MetricValue.integer(1).isNonFinite)
        #expect(MetricValue.other("[1,2]").doubleValue == nil)
        #expect(!MetricValue.other("[1,2]").isNumber)
    }

    @Test("a decoded JSON value becomes a number or compact JSON text")
    func fromJSON() throws {
        let object = try #require(try JSONParser.parse(#"{"a": 1, "b": 1.5, "c": [1, "x"], "d": null}"#).objectValue)
        #expect(MetricValue(json: object["a"]!) == .integer(1))
        #expect(MetricValue(json: object["b"]!) == .double(1.5))
        #expect(MetricValue(json: object["c"]!) == .other(#"[1,"x"]"#))
        #expect(MetricValue(json: object["d"]!) == .other("null"))
    }

    @Test("a reduced number keeps an integer exact and converts to a double on request")
    func reducedNumber() {
        #expect(ReducedNumber(MetricValue.integer(.max)) == .integer(.max))
        #expect(ReducedNumber(MetricValue.double(2.5)) == .double(2.5))
        #expect(ReducedNumber(MetricValue.other("true")) == nil)
        #expect(ReducedNumber.integer(-3).doubleValue == -3)
        #expect(ReducedNumber.integer(.min).doubleValue == -9.223372036854775808e18)
        #expect(ReducedNumber.double(0.1).doubleValue == 0.1)
    }
}

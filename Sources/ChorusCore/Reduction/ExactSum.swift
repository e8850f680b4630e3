/// An exact running sum of doubles and 64-bit integers, independent of the order of its terms.
///
/// Finite doubles are accumulated as a list of non-overlapping partials (Shewchuk's
/// algorithm, the one behind Python's `math.fsum`), so the total is the exact mathematical
/// sum until it is rounded once, in ``value``. Removing a term is adding its negation, which
/// is just as exact: a reduction or summary revised by late data ends up bit-for-bit where
/// it would have been had the data arrived in order.
///
/// Terms of magnitude 2⁹⁰⁰ or more are kept in a second list scaled by 2⁻⁹⁰⁰ (an exact
/// operation), so that no intermediate sum overflows; only the final combination of the
/// two lists rounds twice. Integers are split into a double and an exact remainder.
public struct ExactSum: Sendable, Hashable {
    private var partials: [Double] = []
    private var scaledPartials: [Double] = []

    private static let scaleExponent = 900
    private static let threshold = Double(sign: .plus, exponent: scaleExponent, significand: 1)

    /// Creates an empty sum.
    public init() {}

    /// Whether no terms are left (every added term was removed again, or none was added).
    public var isZero: Bool {
        partials.allSatisfy { $0 == 0 } && scaledPartials.allSatisfy { $0 == 0 }
    }

    /// Adds a finite double; non-finite values are a programming error here.
    public mutating func add(_ term: Double) {
        precondition(term.isFinite, "ExactSum takes finite terms only")
        if abs(term) >= Self.threshold {
            Self.accumulate(term.scaled(by: -Self.scaleExponent), into: &scaledPartials)
        } else {
            Self.accumulate(term, into: &partials)
        }
    }

    /// Adds a 64-bit integer exactly.
    public mutating func add(_ term: Int64) {
        let high = Double(term)
        // `high` is integral and within 2⁶³ of `term`; the remainder needs at most 11 bits.
        let remainder = Int128(term) - Int128(high)
        add(high)
        if remainder != 0 {
            add(Double(remainder))
        }
    }

    /// Removes a finite double added before.
    public mutating func remove(_ term: Double) {
        add(-term)
    }

    /// Removes an integer added before.
    public mutating func remove(_ term: Int64) {
        if term == .min {
            add(Double(sign: .plus, exponent: 63, significand: 1))
        } else {
            add(-term)
        }
    }

    /// The sum rounded to the nearest double (±infinity if it is too large for a double).
    public var value: Double {
        let small = Self.rounded(partials)
        let large = Self.rounded(scaledPartials)
        // Once the huge terms cancel, scaling `small` down by 2⁻⁹⁰⁰ would lose its low bits.
        guard large != 0 else { return small }
        return (large + small.scaled(by: -Self.scaleExponent)).scaled(by: Self.scaleExponent)
    }

    /// The sum divided by `count`, without overflowing where the terms themselves do not.
    public func mean(count: Int) -> Double {
        precondition(count > 0, "a mean needs at least one term")
        let divisor = Double(count)
        let small = Self.rounded(partials)
        let total = Self.rounded(scaledPartials)
        guard total != 0 else { return small / divisor }
        let large = total / divisor
        return (large + (small / divisor).scaled(by: -Self.scaleExponent)).scaled(by: Self.scaleExponent)
    }

    private static func accumulate(_ term: Double, into partials: inout [Double]) {
        var x = term
        var kept = 0
        for index in partials.indices {
            var y = partials[index]
            if abs(x) < abs(y) {
                swap(&x, &y)
            }
            let high = x + y
            let low = y - (high - x)
            if low != 0 {
                partials[kept] = low
                kept += 1
            }
            x = high
        }
        partials.removeSubrange(kept...)
        partials.append(x)
    }

    /// Rounds non-overlapping partials (in increasing magnitude) to the nearest double,
    /// with the half-way correction Python's `fsum` applies.
    private static func rounded(_ partials: [Double]) -> Double {
        var index = partials.count - 1
        guard index >= 0 else { return 0 }
        var high = partials[index]
        var low = 0.0
        while index > 0 {
            index -= 1
            let x = high
            let y = partials[index]
            high = x + y
            let yRounded = high - x
            low = y - yRounded
            if low != 0 {
                break
            }
        }
        if index > 0 && ((low < 0 && partials[index - 1] < 0) || (low > 0 && partials[index - 1] > 0)) {
            let y = low * 2
            let x = high + y
            if y == x - high {
                high = x
            }
        }
        return high
    }
}

extension Double {
    fileprivate func scaled(by exponent: Int) -> Double {
        Double(sign: .plus, exponent: exponent, significand: self)
    }
}

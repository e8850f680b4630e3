/// One key's values at one step, reduced across the ranks that logged a number for it.
///
/// `count` counts every number, non-finite ones included; `nonfinite` counts NaN and the
/// infinities, which take no part in the other fields. Without a finite value, `sum`,
/// `mean`, `min` and `max` (and their ranks) are `nil`. Ties for `min` and `max` go to the
/// lowest rank.
public struct KeyReduction: Sendable, Hashable {
    /// Numbers logged for the key at this step, non-finite ones included.
    public var count: Int
    /// NaN and infinite values among them.
    public var nonfinite: Int
    /// The exact sum of the finite values: an integer when all are integers and it fits.
    public var sum: ReducedNumber?
    /// The exact sum divided by the number of finite values.
    public var mean: Double?
    /// The smallest finite value.
    public var min: ReducedNumber?
    /// The lowest rank holding ``min``.
    public var minRank: Int32?
    /// The largest finite value.
    public var max: ReducedNumber?
    /// The lowest rank holding ``max``.
    public var maxRank: Int32?

    /// Creates a reduction from its fields, as a store reads it back.
    public init(
        count: Int,
        nonfinite: Int,
        sum: ReducedNumber?,
        mean: Double?,
        min: ReducedNumber?,
        minRank: Int32?,
        max: ReducedNumber?,
        maxRank: Int32?
    ) {
        self.count = count
        self.nonfinite = nonfinite
        self.sum = sum
        self.mean = mean
        self.min = min
        self.minRank = minRank
        self.max = max
        self.maxRank = maxRank
    }

    /// Reduces `values`, one per rank, in any order.
    public init<Values: Sequence>(_ values: Values) where Values.Element == (rank: Int32, value: MetricValue) {
        var count = 0
        var nonfinite = 0
        var finite = 0
        var allIntegers = true
        var integerSum: Int128 = 0
        var exactSum = ExactSum()
        var minimum: (rank: Int32, value: MetricValue)?
        var maximum: (rank: Int32, value: MetricValue)?
        for entry in values {
            switch entry.value {
            case .other:
                continue
            case .double(let double) where !double.isFinite:
                count += 1
                nonfinite += 1
                continue
            case .double(let double):
                allIntegers = false
                exactSum.add(double)
            case .integer(let integer):
                integerSum += Int128(integer)
                exactSum.add(integer)
            }
            count += 1
            finite += 1
            if let current = minimum {
                if MetricValue.numericallyLess(entry.value, current.value)
                    || (!MetricValue.numericallyLess(current.value, entry.value) && entry.rank < current.rank)
                {
                    minimum = entry
                }
            } else {
                minimum = entry
            }
            if let current = maximum {
                if MetricValue.numericallyLess(current.value, entry.value)
                    || (!MetricValue.numericallyLess(entry.value, current.value) && entry.rank < current.rank)
                {
                    maximum = entry
                }
            } else {
                maximum = entry
            }
        }
        self.count = count
        self.nonfinite = nonfinite
        guard finite > 0, let minimum, let maximum else {
            return
        }
        if allIntegers, let exact = Int64(exactly: integerSum) {
            sum = .integer(exact)
            mean = Double(integerSum) / Double(finite)
        } else {
            sum = .double(allIntegers ? Double(integerSum) : exactSum.value)
            mean = exactSum.mean(count: finite)
        }
        min = ReducedNumber(minimum.value)
        minRank = minimum.rank
        max = ReducedNumber(maximum.value)
        maxRank = maximum.rank
    }

    /// The value the key's summary series takes at this step under `operation`.
    public func headline(_ operation: ReduceOperation) -> Double? {
        switch operation {
        case .mean: mean
        case .sum: sum?.doubleValue
        case .min: min?.doubleValue
        case .max: max?.doubleValue
        }
    }
}

/// Which field of a step's reduction is a key's headline, the value its summary follows.
public enum ReduceOperation: String, Sendable, Hashable, CaseIterable {
    /// The mean over ranks (the default).
    case mean
    /// The sum over ranks.
    case sum
    /// The smallest value of any rank.
    case min
    /// The largest value of any rank.
    case max
}

/// One value a rank logged for one key at one step, as it arrived.
///
/// Numbers keep the kind they were written in: an integer literal that fits 64 bits stays
/// an integer (so sums of integers are exact), anything else is a double, NaN and the
/// infinities included. Every other JSON value (a string, a bool, null, a list, a wandb
/// histogram) is kept as its JSON text and never reduced.
public enum MetricValue: Sendable, Hashable {
    /// A number written without fraction or exponent that fits a signed 64-bit integer.
    case integer(Int64)
    /// Any other number, non-finite ones included.
    case double(Double)
    /// A value that is not a number, as compact JSON text.
    case other(String)

    /// Whether the value is a number and takes part in reductions.
    public var isNumber: Bool {
        if case .other = self { return false }
        return true
    }

    /// Whether the value is NaN or an infinity.
    public var isNonFinite: Bool {
        if case .double(let value) = self { return !value.isFinite }
        return false
    }

    /// The value as a double, for numbers; `nil` for other values.
    public var doubleValue: Double? {
        switch self {
        case .integer(let value): Double(value)
        case .double(let value): value
        case .other: nil
        }
    }

    /// Compares two finite numbers by value, exactly for two integers.
    static func numericallyLess(_ lhs: MetricValue, _ rhs: MetricValue) -> Bool {
        switch (lhs, rhs) {
        case (.integer(let a), .integer(let b)): return a < b
        case (.integer(let a), .double(let b)): return Self.compare(a, b) < 0
        case (.double(let a), .integer(let b)): return Self.compare(b, a) > 0
        case (.double(let a), .double(let b)): return a < b
        default: return false
        }
    }

    /// The sign of `integer - double`, exactly, for a finite double.
    private static func compare(_ integer: Int64, _ double: Double) -> Int {
        let limit = Double(sign: .plus, exponent: 63, significand: 1)
        if double >= limit { return -1 }
        if double < -limit { return 1 }
        let whole = double.rounded(.down)
        let truncated = Int64(whole)
        if integer != truncated { return integer < truncated ? -1 : 1 }
        return double > whole ? -1 : 0
    }
}

/// A number that may be an exact integer, as reductions report `sum`, `min` and `max`.
public enum ReducedNumber: Sendable, Hashable {
    /// An exact integer.
    case integer(Int64)
    /// A double.
    case double(Double)

    /// The number as a double.
    public var doubleValue: Double {
        switch self {
        case .integer(let value): Double(value)
        case .double(let value): value
        }
    }

    init?(_ value: MetricValue) {
        switch value {
        case .integer(let integer): self = .integer(integer)
        case .double(let double): self = .double(double)
        case .other: return nil
        }
    }
}

/// One SQLite value, in one of SQLite's five storage classes.
///
/// Literals make binding short: `try statement.run([1, 2.5, "text", nil])`.
public enum SQLiteValue: Sendable, Equatable {
    /// SQL `NULL`.
    case null
    /// A 64-bit signed integer.
    case integer(Int64)
    /// An IEEE 754 double. SQLite stores NaN as `NULL`, so `.real(.nan)` reads back as
    /// ``null``; infinities round-trip.
    case real(Double)
    /// UTF-8 text. It may hold NUL characters, which round-trip through binding and reading,
    /// but SQL functions such as `length()` stop at the first one.
    case text(String)
    /// Bytes, stored as they are; an empty blob stays an empty blob, not `NULL`.
    case blob([UInt8])
}

extension SQLiteValue: ExpressibleByNilLiteral {
    /// Creates ``null``.
    public init(nilLiteral: ()) {
        self = .null
    }
}

extension SQLiteValue: ExpressibleByIntegerLiteral {
    /// Creates ``integer(_:)``.
    public init(integerLiteral value: Int64) {
        self = .integer(value)
    }
}

extension SQLiteValue: ExpressibleByFloatLiteral {
    /// Creates ``real(_:)``.
    public init(floatLiteral value: Double) {
        self = .real(value)
    }
}

extension SQLiteValue: ExpressibleByStringLiteral {
    /// Creates ``text(_:)``.
    public init(stringLiteral value: String) {
        self = .text(value)
    }
}

extension MetricValue: ExpressibleByIntegerLiteral {
    /// An integer value: `["epoch": 3]`.
    public init(integerLiteral value: Int64) {
        self = .integer(value)
    }
}

extension MetricValue: ExpressibleByFloatLiteral {
    /// A double value: `["loss": 0.31]`.
    public init(floatLiteral value: Double) {
        self = .double(value)
    }
}

extension MetricValue: ExpressibleByStringLiteral {
    /// A string value, kept and not reduced: `["phase": "warmup"]`.
    public init(stringLiteral value: String) {
        self = .other(JSONWriter.compactText(.string(value)))
    }
}

extension MetricValue: ExpressibleByBooleanLiteral {
    /// A bool value, kept and not reduced.
    public init(booleanLiteral value: Bool) {
        self = .other(value ? "true" : "false")
    }
}

extension MetricValue {
    /// A double value.
    public init(_ value: Double) {
        self = .double(value)
    }

    /// An integer value.
    public init(_ value: Int) {
        self = .integer(Int64(value))
    }
}

/// The limits a collector enforces on each message (`protocol.md`, section 10).
public struct WireLimits: Sendable, Hashable {
    /// The largest message, in bytes.
    public var maxMessageBytes: Int = 1 << 20
    /// The most values one message may carry after flattening.
    public var maxValuesPerMessage: Int = 10_000
    /// The longest key, in bytes of UTF-8.
    public var maxKeyBytes: Int = 256
    /// The deepest nesting of `data`.
    public var maxDataDepth: Int = 32
    /// The highest rank.
    public var maxRank: Int64 = 1_048_575
    /// The longest run or incarnation id.
    public var maxIdentifierLength: Int = 128

    /// The protocol's limits.
    public init() {}
}

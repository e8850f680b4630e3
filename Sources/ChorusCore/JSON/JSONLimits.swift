/// Bounds on what ``JSONParser`` accepts, so that a hostile or broken sender costs bounded
/// time, memory and stack.
public struct JSONLimits: Sendable, Hashable {
    /// The deepest nesting the parser supports, whatever ``maxDepth`` asks for.
    ///
    /// The parser recurses once per level, so this caps its stack use (a few hundred bytes
    /// a level) well inside the smallest thread stack it may run on.
    public static let supportedDepth = 512

    /// The deepest nesting of arrays and objects: a top-level `{}` is depth 1.
    ///
    /// Values above ``supportedDepth`` act as ``supportedDepth``.
    public var maxDepth: Int

    /// The longest text, in bytes.
    public var maxBytes: Int

    /// The longest string or key, in bytes of UTF-8 after decoding escapes.
    public var maxStringBytes: Int

    /// Creates limits; the defaults suit one protocol message (at most 1 MiB).
    public init(maxDepth: Int = 64, maxBytes: Int = 1 << 20, maxStringBytes: Int = 1 << 20) {
        self.maxDepth = maxDepth
        self.maxBytes = maxBytes
        self.maxStringBytes = maxStringBytes
    }
}

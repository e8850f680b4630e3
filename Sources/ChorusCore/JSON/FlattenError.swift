/// Why a message's `data` cannot be flattened; the message names the key at fault.
public struct FlattenError: Error, CustomStringConvertible, Sendable, Hashable {
    /// A kind of failure. New codes may be added.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Kind: String, Sendable, Hashable {
            case duplicateKey = "duplicate-key"
            case tooManyValues = "too-many-values"
            case keyTooLong = "key-too-long"
            case tooDeep = "too-deep"
        }

        private let kind: Kind

        /// Two entries flatten to the same key.
        public static let duplicateKey = Code(kind: .duplicateKey)
        /// More values than ``FlattenLimits/maxValues``.
        public static let tooManyValues = Code(kind: .tooManyValues)
        /// A flattened key longer than ``FlattenLimits/maxKeyBytes``.
        public static let keyTooLong = Code(kind: .keyTooLong)
        /// Nesting deeper than ``FlattenLimits/maxDepth``.
        public static let tooDeep = Code(kind: .tooDeep)

        /// A short stable name, for counters and logs.
        public var description: String { kind.rawValue }
    }

    /// The kind of failure.
    public var code: Code
    /// The flattened key at fault, whole (the message shows at most 64 bytes of it).
    public var key: String
    /// What is wrong, naming the key.
    public var message: String

    /// Creates an error.
    public init(_ code: Code, key: String, _ message: String) {
        self.code = code
        self.key = key
        self.message = message
    }

    /// The message.
    public var description: String { message }
}

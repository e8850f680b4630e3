/// Why a text is not JSON that ``JSONParser`` accepts, and where.
///
/// The description names the byte offset and what the parser expected and found, e.g.
/// `invalid JSON at byte 17: expected ',' or '}' after an object member, found 'x'`.
public struct JSONParseError: Error, CustomStringConvertible, Sendable, Hashable {
    /// A kind of failure, for counting and for tests. New codes may be added.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Kind: String, Sendable, Hashable {
            case syntax
            case invalidNumber = "invalid-number"
            case invalidString = "invalid-string"
            case invalidUTF8 = "invalid-utf8"
            case duplicateKey = "duplicate-key"
            case tooDeep = "too-deep"
            case tooLarge = "too-large"
            case stringTooLong = "string-too-long"
        }

        private let kind: Kind

        /// A character that cannot stand where it stands, or the text ended early.
        public static let syntax = Code(kind: .syntax)
        /// A malformed number: a leading zero, a missing digit, a lowercase `nan`.
        public static let invalidNumber = Code(kind: .invalidNumber)
        /// A bad escape, a lone surrogate, or a raw control character in a string.
        public static let invalidString = Code(kind: .invalidString)
        /// Bytes that are not UTF-8.
        public static let invalidUTF8 = Code(kind: .invalidUTF8)
        /// An object repeats a key; ``JSONParseError/key`` names it.
        public static let duplicateKey = Code(kind: .duplicateKey)
        /// Arrays and objects nest deeper than ``JSONLimits/maxDepth``.
        public static let tooDeep = Code(kind: .tooDeep)
        /// The text is longer than ``JSONLimits/maxBytes``.
        public static let tooLarge = Code(kind: .tooLarge)
        /// A string is longer than ``JSONLimits/maxStringBytes``.
        public static let stringTooLong = Code(kind: .stringTooLong)

        /// A short stable name, for counters and logs.
        public var description: String { kind.rawValue }
    }

    /// The kind of failure.
    public var code: Code
    /// The offset of the byte at fault, from 0.
    public var offset: Int
    /// What was expected and what was found, without the offset.
    public var detail: String
    /// The repeated key, for ``Code/duplicateKey``.
    public var key: String?

    /// Creates an error.
    public init(_ code: Code, at offset: Int, _ detail: String, key: String? = nil) {
        self.code = code
        self.offset = offset
        self.detail = detail
        self.key = key
    }

    /// `invalid JSON at byte N: detail`.
    public var description: String { "invalid JSON at byte \(offset): \(detail)" }
}

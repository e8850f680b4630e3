/// Why a message was rejected. The message names the field or key at fault and what a
/// sender should do instead; the code groups rejections for counting.
public struct WireError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A kind of rejection. New codes may be added.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Kind: String, Sendable, Hashable {
            case malformedJSON = "malformed-json"
            case unsupportedVersion = "unsupported-version"
            case unknownKind = "unknown-kind"
            case missingField = "missing-field"
            case invalidField = "invalid-field"
            case invalidData = "invalid-data"
            case multipart = "multipart"
            case conflict = "conflict"
            case overLimit = "over-limit"
        }

        private let kind: Kind

        /// The bytes are not one JSON object.
        public static let malformedJSON = Code(kind: .malformedJSON)
        /// `v` names a version this collector does not speak.
        public static let unsupportedVersion = Code(kind: .unsupportedVersion)
        /// `kind` is not one of the protocol's kinds.
        public static let unknownKind = Code(kind: .unknownKind)
        /// A required field is absent.
        public static let missingField = Code(kind: .missingField)
        /// A field has the wrong type or is out of range.
        public static let invalidField = Code(kind: .invalidField)
        /// `data` cannot be flattened: a key repeats, or a limit is passed.
        public static let invalidData = Code(kind: .invalidData)
        /// The ZeroMQ message had more than one frame.
        public static let multipart = Code(kind: .multipart)
        /// The message contradicts what the run already is (another world size, say).
        public static let conflict = Code(kind: .conflict)
        /// Accepting the message would pass one of the collector's bounds on what it keeps
        /// (ranks per run, incarnations per rank, live runs).
        public static let overLimit = Code(kind: .overLimit)

        /// A short stable name, for counters and logs.
        public var description: String { kind.rawValue }
    }

    /// The kind of rejection.
    public var code: Code
    /// What was wrong, naming the field or key.
    public var message: String
    /// Who sent the message, when its `run`, `rank` and `inc` could be read.
    public var sender: Sender?
    /// The `seq` of a refused `log` record, when it could be read: the collector settles it.
    public var sequenceNumber: Int64?

    /// Creates an error.
    public init(_ code: Code, _ message: String, sender: Sender? = nil) {
        self.code = code
        self.message = message
        self.sender = sender
    }

    /// `code: message`.
    public var description: String { "\(code): \(message)" }
}

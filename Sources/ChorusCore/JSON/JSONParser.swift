/// Reads JSON exactly as Python's `json.dumps` writes it, and nothing looser.
///
/// What it accepts (section 4 of `protocol.md`):
/// - any value at the top, surrounded by nothing but spaces, tabs, CR and LF;
/// - the bare tokens `NaN`, `Infinity` and `-Infinity`, as doubles;
/// - numbers decoded exactly: a literal with no fraction or exponent that fits a signed
///   64-bit integer is an integer (`-9223372036854775808` included); any other number is the
///   double nearest to its text, correctly rounded (so `2**64` is `1.8446744073709552e19`);
/// - strings of raw UTF-8 (validated) and the escapes `\" \\ \/ \b \f \n \r \t \uXXXX`,
///   with surrogate pairs.
///
/// What it rejects, with an error naming the byte offset: leading zeros (`01`), `+1`, `.5`,
/// `1.`, trailing commas, single quotes, comments, raw control characters in strings, lone
/// surrogates, invalid UTF-8, `nan` and `inf`, a byte order mark, anything after the value,
/// an object that repeats a key, and anything past ``JSONLimits``.
///
/// It never traps and never recurses deeper than ``JSONLimits/supportedDepth``, whatever
/// the input. Foundation's parsers are not used: `JSONSerialization` is lossy on Linux and
/// `JSONDecoder` is several times too slow for the collector.
public struct JSONParser: Sendable {
    private init() {}

    /// Parses one JSON text.
    /// - Parameters:
    ///   - bytes: the UTF-8 text.
    ///   - limits: the bounds to enforce.
    /// - Returns: the value the text holds.
    /// - Throws: ``JSONParseError`` naming the offset of the first problem.
    public static func parse(
        _ bytes: UnsafeRawBufferPointer,
        limits: JSONLimits = JSONLimits()
    ) throws(JSONParseError) -> JSONValue {
        guard bytes.count <= limits.maxBytes else {
            throw JSONParseError(
                .tooLarge,
                at: limits.maxBytes,
                "the text is \(bytes.count) bytes long, more than the limit of \(limits.maxBytes) bytes"
            )
        }
        var scanner = JSONScanner(bytes, limits: limits)
        return try scanner.parseDocument()
    }

    /// Parses one JSON text held in an array of UTF-8 bytes.
    /// - Throws: ``JSONParseError`` naming the offset of the first problem.
    public static func parse(
        _ bytes: [UInt8],
        limits: JSONLimits = JSONLimits()
    ) throws(JSONParseError) -> JSONValue {
        let result = bytes.withUnsafeBytes { buffer in
            Result { () throws(JSONParseError) in try parse(buffer, limits: limits) }
        }
        return try result.get()
    }

    /// Parses one JSON text held in a string; offsets in errors count its UTF-8 bytes.
    /// - Throws: ``JSONParseError`` naming the offset of the first problem.
    public static func parse(
        _ text: String,
        limits: JSONLimits = JSONLimits()
    ) throws(JSONParseError) -> JSONValue {
        var text = text
        let result = text.withUTF8 { buffer in
            Result { () throws(JSONParseError) in
                try parse(UnsafeRawBufferPointer(buffer), limits: limits)
            }
        }
        return try result.get()
    }
}

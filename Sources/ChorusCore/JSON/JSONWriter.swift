/// Writes JSON the way Python's `json.dumps` does, into a reusable byte buffer.
///
/// Numbers are written as Python writes them (`repr` of a float, `str` of an int), so a
/// Python reader gets back the very double that was written, and text written here matches
/// `json.dumps` byte for byte. Non-finite doubles are the bare tokens `NaN`, `Infinity` and
/// `-Infinity`, as with `allow_nan=True`.
///
/// Besides ``append(_:)`` for a whole ``JSONValue``, the writer has primitives so that a hot
/// path can write a record without building a tree:
///
/// ```swift
/// var writer = JSONWriter()
/// writer.beginObject()
/// writer.appendKey("step")
/// writer.appendInteger(1200)
/// writer.appendKey("loss")
/// writer.appendDouble(0.31)
/// writer.endObject()  // writer.bytes holds {"step":1200,"loss":0.31}
/// ```
///
/// The writer puts the item separator between values by itself: it remembers only whether
/// a value was just completed, which is all JSON's grammar needs. It does not check that the
/// calls make a well-formed document; that is the caller's part.
public struct JSONWriter: Sendable {
    /// The separators between items and between a key and its value.
    public enum Separators: Sendable, Hashable {
        /// `,` and `:`, as `json.dumps(..., separators=(",", ":"))` writes.
        case compact
        /// `, ` and `: `, as `json.dumps(...)` writes by default.
        case spaced
    }

    /// The text written so far, in UTF-8.
    public var bytes: [UInt8]
    /// The separators used.
    public var separators: Separators
    /// Whether non-ASCII characters are written as `\uXXXX` escapes (Python's
    /// `ensure_ascii=True`) instead of raw UTF-8 (`ensure_ascii=False`).
    public var escapesNonASCII: Bool
    /// Whether the next item needs a separator before it: a value was just completed.
    private var afterValue = false

    /// Creates an empty writer.
    /// - Parameters:
    ///   - separators: compact (the default) or spaced, like Python's default.
    ///   - escapesNonASCII: whether to escape every non-ASCII character.
    ///   - capacity: bytes to reserve, so that a typical record needs no reallocation.
    public init(
        separators: Separators = .compact,
        escapesNonASCII: Bool = false,
        capacity: Int = 512
    ) {
        self.separators = separators
        self.escapesNonASCII = escapesNonASCII
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    /// Empties the buffer, keeping its capacity, to write the next document.
    public mutating func reset() {
        bytes.removeAll(keepingCapacity: true)
        afterValue = false
    }

    /// Writes `{`.
    public mutating func beginObject() {
        separateItem()
        bytes.append(UInt8(ascii: "{"))
        afterValue = false
    }

    /// Writes `}`.
    public mutating func endObject() {
        bytes.append(UInt8(ascii: "}"))
        afterValue = true
    }

    /// Writes `[`.
    public mutating func beginArray() {
        separateItem()
        bytes.append(UInt8(ascii: "["))
        afterValue = false
    }

    /// Writes `]`.
    public mutating func endArray() {
        bytes.append(UInt8(ascii: "]"))
        afterValue = true
    }

    /// Writes an object key and the separator that follows it: `"key":`.
    public mutating func appendKey(_ key: String) {
        separateItem()
        appendQuoted(key)
        bytes.append(UInt8(ascii: ":"))
        if separators == .spaced {
            bytes.append(UInt8(ascii: " "))
        }
        afterValue = false
    }

    /// Writes `null`.
    public mutating func appendNull() {
        separateItem()
        appendASCII("null")
        afterValue = true
    }

    /// Writes `true` or `false`.
    public mutating func appendBool(_ value: Bool) {
        separateItem()
        appendASCII(value ? "true" : "false")
        afterValue = true
    }

    /// Writes an integer in decimal, as Python's `str(int)` does.
    public mutating func appendInteger(_ value: Int64) {
        separateItem()
        writeInteger(value)
        afterValue = true
    }

    /// Writes a double as Python's `repr(float)` does: the shortest text that reads back as
    /// the same double, `1.0` rather than `1`, `1e-05` and `1e+16` past Python's thresholds,
    /// and `NaN`, `Infinity`, `-Infinity` for non-finite values.
    public mutating func appendDouble(_ value: Double) {
        separateItem()
        writeDouble(value)
        afterValue = true
    }

    /// Writes a string, quoted and escaped as `json.dumps` escapes it.
    public mutating func appendString(_ value: String) {
        separateItem()
        appendQuoted(value)
        afterValue = true
    }

    /// Writes a whole value.
    ///
    /// The writer recurses once per level of nesting; a value built by ``JSONParser`` is
    /// bounded by ``JSONLimits/supportedDepth``.
    public mutating func append(_ value: JSONValue) {
        switch value {
        case .null:
            appendNull()
        case .bool(let bool):
            appendBool(bool)
        case .integer(let integer):
            appendInteger(integer)
        case .double(let double):
            appendDouble(double)
        case .string(let string):
            appendString(string)
        case .array(let array):
            beginArray()
            for element in array {
                append(element)
            }
            endArray()
        case .object(let object):
            beginObject()
            for (key, member) in object {
                appendKey(key)
                append(member)
            }
            endObject()
        }
    }

    /// The bytes of `value` written with the given options.
    public static func encode(
        _ value: JSONValue,
        separators: Separators = .compact,
        escapesNonASCII: Bool = false
    ) -> [UInt8] {
        var writer = JSONWriter(
            separators: separators,
            escapesNonASCII: escapesNonASCII,
            capacity: 64
        )
        writer.append(value)
        return writer.bytes
    }

    /// `value` as compact JSON text with raw UTF-8, as Python's
    /// `json.dumps(value, separators=(",", ":"), ensure_ascii=False)` writes it.
    public static func compactText(_ value: JSONValue) -> String {
        String(decoding: encode(value), as: UTF8.self)
    }

    /// A string quoted for an error message: escaped like JSON, and cut after 64 bytes so
    /// that a hostile key cannot flood a log line.
    static func quotedForMessage(_ string: String) -> String {
        var writer = JSONWriter(capacity: 80)
        if string.utf8.count <= 64 {
            writer.appendString(string)
        } else {
            // Cut between characters, so that the excerpt stays valid text.
            var cut = string.startIndex
            var length = 0
            for index in string.indices {
                length += string[index].utf8.count
                if length > 64 { break }
                cut = string.index(after: index)
            }
            writer.appendString(string[..<cut] + "…")
        }
        return String(decoding: writer.bytes, as: UTF8.self)
    }

    private mutating func separateItem() {
        guard afterValue else { return }
        bytes.append(UInt8(ascii: ","))
        if separators == .spaced {
            bytes.append(UInt8(ascii: " "))
        }
    }

    mutating func appendASCII(_ text: StaticString) {
        let utf8 = UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount)
        bytes.append(contentsOf: utf8)
    }
}

/// One JSON value, as Chorus reads it off the wire and writes it back.
///
/// Numbers keep the distinction the protocol makes (section 4 of `protocol.md`): a literal
/// without a fraction or exponent that fits 64 bits is an ``integer(_:)``; every other
/// number is a ``double(_:)``, including `NaN`, `Infinity` and `-Infinity`.
///
/// Equality means "written the same way": two values are equal exactly when ``JSONWriter``
/// writes the same bytes for them. So `NaN` equals `NaN` (JSON has one `NaN`), `0.0` differs
/// from `-0.0`, the integer `1` differs from the double `1.0`, strings compare by their
/// UTF-8 bytes rather than by Swift's canonical equivalence, and objects compare entry by
/// entry in document order.
public enum JSONValue: Sendable {
    /// `null`.
    case null
    /// `true` or `false`.
    case bool(Bool)
    /// A number written without a fraction or exponent that fits a signed 64-bit integer.
    case integer(Int64)
    /// Any other number: the double nearest to its text, or a non-finite token.
    case double(Double)
    /// A string.
    case string(String)
    /// A list of values.
    case array([JSONValue])
    /// An object, its entries in document order.
    case object(JSONObject)
}

extension JSONValue {
    /// Whether the value is `null`.
    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    /// The Boolean, if the value is one.
    public var boolValue: Bool? {
        if case .bool(let bool) = self { return bool }
        return nil
    }

    /// The integer, if the value is an integer (a double is never converted).
    public var integerValue: Int64? {
        if case .integer(let integer) = self { return integer }
        return nil
    }

    /// The double, if the value is a double (an integer is never converted).
    public var doubleValue: Double? {
        if case .double(let double) = self { return double }
        return nil
    }

    /// The string, if the value is one.
    public var stringValue: String? {
        if case .string(let string) = self { return string }
        return nil
    }

    /// The elements, if the value is a list.
    public var arrayValue: [JSONValue]? {
        if case .array(let array) = self { return array }
        return nil
    }

    /// The object, if the value is one.
    public var objectValue: JSONObject? {
        if case .object(let object) = self { return object }
        return nil
    }
}

extension JSONValue: Hashable {
    /// Whether the writer writes both values the same way (see the type's documentation).
    public static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): true
        case (.bool(let a), .bool(let b)): a == b
        case (.integer(let a), .integer(let b)): a == b
        case (.double(let a), .double(let b)): sameJSONDouble(a, b)
        case (.string(let a), .string(let b)): sameUTF8(a, b)
        case (.array(let a), .array(let b)): a == b
        case (.object(let a), .object(let b)): a == b
        default: false
        }
    }

    /// Hashes what equality compares: the case, a double's bits (one hash for every `NaN`),
    /// a string's UTF-8 bytes.
    public func hash(into hasher: inout Hasher) {
        switch self {
        case .null:
            hasher.combine(0 as UInt8)
        case .bool(let bool):
            hasher.combine(1 as UInt8)
            hasher.combine(bool)
        case .integer(let integer):
            hasher.combine(2 as UInt8)
            hasher.combine(integer)
        case .double(let double):
            hasher.combine(3 as UInt8)
            hasher.combine(double.isNaN ? Double.nan.bitPattern : double.bitPattern)
        case .string(let string):
            hasher.combine(4 as UInt8)
            hashUTF8(string, into: &hasher)
        case .array(let array):
            hasher.combine(5 as UInt8)
            hasher.combine(array)
        case .object(let object):
            hasher.combine(6 as UInt8)
            hasher.combine(object)
        }
    }
}

extension JSONValue: CustomStringConvertible {
    /// The value as compact JSON text, the way `json.dumps(separators=(",", ":"))` writes it.
    public var description: String { JSONWriter.compactText(self) }
}

/// Whether two doubles are written the same way: bit for bit, except that every `NaN` is one.
///
/// Apart from the zeros and the NaNs a double has one encoding, so comparing bits is the
/// same as comparing values while keeping `-0.0` apart from `0.0`.
func sameJSONDouble(_ a: Double, _ b: Double) -> Bool {
    a.bitPattern == b.bitPattern || (a.isNaN && b.isNaN)
}

/// Whether two strings hold the same UTF-8 bytes.
///
/// Swift's `==` compares canonical equivalence ("é" precomposed equals "e" plus a combining
/// accent), while JSON and Python compare code points. The length (stored in the string) and
/// `==` are cheap filters first: strings with equal bytes are always `==`, and for ASCII `==`
/// is a plain byte comparison.
func sameUTF8(_ a: String, _ b: String) -> Bool {
    a.utf8.count == b.utf8.count && a == b && a.utf8.elementsEqual(b.utf8)
}

/// Feeds a string's UTF-8 bytes to a hasher, to match ``sameUTF8(_:_:)``.
func hashUTF8(_ string: String, into hasher: inout Hasher) {
    var string = string
    string.withUTF8 { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
    hasher.combine(string.utf8.count)
}

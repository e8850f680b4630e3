/// The state of one parse: the text, a position in it, and scratch space reused across the
/// values of one document.
///
/// The parser descends recursively, one call per array or object, and checks the depth
/// before each descent. Members of the objects being read wait on one shared stack (and
/// elements of arrays on another) so that each finished container is copied out once, at
/// its exact size, instead of growing an array of its own.
struct JSONScanner {
    let bytes: UnsafeRawBufferPointer
    let end: Int
    let maxDepth: Int
    let maxStringBytes: Int
    var index = 0
    var depth = 0
    var members: [JSONObject.Member] = []
    var elements: [JSONValue] = []
    /// The decoded bytes of a string that holds escapes.
    var scratch: [UInt8] = []

    /// Objects up to this many members look for a repeated key by scanning; bigger ones
    /// switch to a set, so that a hostile object of 100,000 keys costs linear time.
    static let duplicateScanLimit = 12

    init(_ bytes: UnsafeRawBufferPointer, limits: JSONLimits) {
        self.bytes = bytes
        end = bytes.count
        maxDepth = min(limits.maxDepth, JSONLimits.supportedDepth)
        maxStringBytes = limits.maxStringBytes
    }

    /// Reads the one value of the text and makes sure nothing but whitespace follows.
    mutating func parseDocument() throws(JSONParseError) -> JSONValue {
        if end >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF {
            throw JSONParseError(.syntax, at: 0, "expected a value, found a UTF-8 byte order mark")
        }
        let value = try parseValue()
        skipWhitespace()
        guard index == end else { throw unexpected("end of input after the top-level value") }
        return value
    }

    /// Reads the value at `index`, after any whitespace.
    mutating func parseValue() throws(JSONParseError) -> JSONValue {
        skipWhitespace()
        guard index < end else { throw unexpected("a value") }
        switch bytes[index] {
        case UInt8(ascii: "\""):
            return .string(try parseString())
        case UInt8(ascii: "{"):
            return try parseObject()
        case UInt8(ascii: "["):
            return try parseArray()
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return try parseNumber()
        case UInt8(ascii: "t"):
            try expectWord("true")
            return .bool(true)
        case UInt8(ascii: "f"):
            try expectWord("false")
            return .bool(false)
        case UInt8(ascii: "n"):
            try expectWord("null")
            return .null
        case UInt8(ascii: "N"):
            try expectWord("NaN")
            return .double(.nan)
        case UInt8(ascii: "I"):
            try expectWord("Infinity")
            return .double(.infinity)
        default:
            throw unexpected("a value")
        }
    }

    /// Reads an object; `index` is at its `{`.
    private mutating func parseObject() throws(JSONParseError) -> JSONValue {
        try enterContainer()
        index += 1
        skipWhitespace()
        if index < end, bytes[index] == UInt8(ascii: "}") {
            index += 1
            depth -= 1
            return .object(JSONObject())
        }
        if members.capacity == 0 {
            // One allocation instead of five doublings for a typical record.
            members.reserveCapacity(32)
        }
        let first = members.count
        var seen: Set<UTF8Key>? = nil
        while true {
            guard index < end, bytes[index] == UInt8(ascii: "\"") else {
                let afterComma = members.count > first
                throw unexpected(afterComma ? "a string key after ','" : "a string key or '}'")
            }
            let keyOffset = index
            let key = try parseString()
            try checkRepeat(of: key, at: keyOffset, membersFrom: first, seen: &seen)
            skipWhitespace()
            guard index < end, bytes[index] == UInt8(ascii: ":") else {
                throw unexpected("':' after an object key")
            }
            index += 1
            let value = try parseValue()
            members.append(JSONObject.Member(key: key, value: value))
            skipWhitespace()
            guard index < end else { throw unexpected("',' or '}' after an object member") }
            switch bytes[index] {
            case UInt8(ascii: ","):
                index += 1
                skipWhitespace()
            case UInt8(ascii: "}"):
                index += 1
                let object = JSONObject(members: Array(members[first...]))
                members.removeSubrange(first...)
                depth -= 1
                return .object(object)
            default:
                throw unexpected("',' or '}' after an object member")
            }
        }
    }

    /// Reads an array; `index` is at its `[`.
    private mutating func parseArray() throws(JSONParseError) -> JSONValue {
        try enterContainer()
        index += 1
        skipWhitespace()
        if index < end, bytes[index] == UInt8(ascii: "]") {
            index += 1
            depth -= 1
            return .array([])
        }
        if elements.capacity == 0 {
            elements.reserveCapacity(32)
        }
        let first = elements.count
        while true {
            skipWhitespace()
            if index < end, bytes[index] == UInt8(ascii: "]") {
                // Only reachable after a comma: an empty array returned above.
                throw unexpected("a value after ','")
            }
            let element = try parseValue()
            elements.append(element)
            skipWhitespace()
            guard index < end else { throw unexpected("',' or ']' after an array element") }
            switch bytes[index] {
            case UInt8(ascii: ","):
                index += 1
            case UInt8(ascii: "]"):
                index += 1
                let array = Array(elements[first...])
                elements.removeSubrange(first...)
                depth -= 1
                return .array(array)
            default:
                throw unexpected("',' or ']' after an array element")
            }
        }
    }

    /// Counts one more level of nesting, refusing it past the limit before any recursion.
    private mutating func enterContainer() throws(JSONParseError) {
        guard depth < maxDepth else {
            throw JSONParseError(
                .tooDeep,
                at: index,
                "arrays and objects nest deeper than the limit of \(maxDepth) levels"
            )
        }
        depth += 1
    }

    /// Throws if `key` repeats a key of the object whose members start at `first`.
    private func checkRepeat(
        of key: String,
        at offset: Int,
        membersFrom first: Int,
        seen: inout Set<UTF8Key>?
    ) throws(JSONParseError) {
        var repeated = false
        if seen == nil, members.count - first < Self.duplicateScanLimit {
            for index in first..<members.count where sameUTF8(members[index].key, key) {
                repeated = true
                break
            }
        } else {
            if seen == nil {
                seen = Set(members[first...].map { UTF8Key($0.key) })
            }
            repeated = seen!.insert(UTF8Key(key)).inserted == false
        }
        if repeated {
            throw JSONParseError(
                .duplicateKey,
                at: offset,
                "duplicate key \(JSONWriter.quotedForMessage(key)) in one object",
                key: key
            )
        }
    }

    /// Skips spaces, tabs, CR and LF: JSON's whitespace, and all that Python's `json` skips.
    mutating func skipWhitespace() {
        while index < end {
            switch bytes[index] {
            case UInt8(ascii: " "), UInt8(ascii: "\n"), UInt8(ascii: "\r"), UInt8(ascii: "\t"):
                index += 1
            default:
                return
            }
        }
    }

    /// Consumes `word` (`true`, `NaN`, …) or throws naming what stands there instead.
    mutating func expectWord(_ word: StaticString) throws(JSONParseError) {
        let count = word.utf8CodeUnitCount
        var matches = index + count <= end
        if matches {
            let expected = UnsafeRawBufferPointer(start: word.utf8Start, count: count)
            matches = bytes[index..<(index + count)].elementsEqual(expected)
        }
        guard matches else { throw unexpected("a value") }
        index += count
    }

    /// The copy of `range` of the text as a string; the caller has validated its UTF-8.
    func makeString(_ range: Range<Int>) -> String {
        let source = UnsafeRawBufferPointer(rebasing: bytes[range])
        return String(unsafeUninitializedCapacity: source.count) { buffer in
            UnsafeMutableRawBufferPointer(buffer).copyMemory(from: source)
            return source.count
        }
    }
}

/// A string that hashes and compares by its UTF-8 bytes, as JSON keys compare.
struct UTF8Key: Hashable {
    let string: String

    init(_ string: String) {
        self.string = string
    }

    static func == (lhs: UTF8Key, rhs: UTF8Key) -> Bool {
        sameUTF8(lhs.string, rhs.string)
    }

    func hash(into hasher: inout Hasher) {
        hashUTF8(string, into: &hasher)
    }
}

// Error messages say what the parser expected and show what it found, so that a sender
// can find its bug from the collector's log line alone.

extension JSONScanner {
    /// An error at `offset` (by default the current position) saying what was expected and
    /// what stands there instead.
    func unexpected(
        _ expected: String,
        at offset: Int? = nil,
        code: JSONParseError.Code = .syntax
    ) -> JSONParseError {
        let offset = offset ?? index
        var detail = "expected \(expected), found \(describeByte(at: offset))"
        if let hint = hint(at: offset) {
            detail += " (\(hint))"
        }
        return JSONParseError(code, at: offset, detail)
    }

    /// What stands at `offset`, for a message: a quoted character, a whole word (unless
    /// `wholeWord` is false), or a byte.
    func describeByte(at offset: Int, wholeWord: Bool = true) -> String {
        guard offset < end else { return "end of input" }
        let byte = bytes[offset]
        // A word reads better whole: "found 'nan'" rather than "found 'n'".
        if wholeWord, (byte | 0x20) >= UInt8(ascii: "a"), (byte | 0x20) <= UInt8(ascii: "z") {
            return "'\(makeString(offset..<wordEnd(from: offset)))'"
        }
        switch byte {
        case UInt8(ascii: "'"):
            return "\"'\""
        case UInt8(ascii: " "):
            return "a space"
        case 0x21...0x7E:
            return "'\(Character(Unicode.Scalar(byte)))'"
        case 0x00..<0x20, 0x7F:
            return "control character \(Self.scalarName(UInt32(byte)))"
        default:
            return "byte \(Self.hexByte(byte))"
        }
    }

    /// A hint for mistakes that other JSON writers make, or `nil`.
    private func hint(at offset: Int) -> String? {
        guard offset < end else { return nil }
        switch bytes[offset] {
        case UInt8(ascii: "n"), UInt8(ascii: "i"):
            switch makeString(offset..<wordEnd(from: offset)) {
            case "nan", "inf", "infinity":
                return "non-finite numbers are spelled NaN, Infinity and -Infinity"
            default:
                return nil
            }
        case UInt8(ascii: "/"):
            return "JSON has no comments"
        case UInt8(ascii: "'"):
            return "JSON strings take double quotes"
        default:
            return nil
        }
    }

    /// The end of the run of letters and digits at `offset`, at most 16 bytes long.
    private func wordEnd(from offset: Int) -> Int {
        var stop = offset
        while stop < end, stop - offset < 16 {
            switch bytes[stop] {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"):
                stop += 1
            default:
                return stop
            }
        }
        return stop
    }

    /// `U+000A`: a code point in the notation of the Unicode standard.
    static func scalarName(_ value: UInt32) -> String {
        let digits = String(value, radix: 16, uppercase: true)
        return "U+" + String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }

    /// `0xC3`: one byte in hexadecimal.
    static func hexByte(_ byte: UInt8) -> String {
        let digits = String(byte, radix: 16, uppercase: true)
        return "0x" + (digits.count < 2 ? "0" : "") + digits
    }
}

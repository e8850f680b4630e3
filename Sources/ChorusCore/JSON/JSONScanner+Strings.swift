// Strings: the common case (ASCII or raw UTF-8, no escapes) is validated in place and copied
// once; a string with escapes is decoded into the scanner's scratch buffer.

extension JSONScanner {
    /// Reads a string; `index` is at its opening quote and ends after the closing one.
    mutating func parseString() throws(JSONParseError) -> String {
        let quote = index
        let start = index + 1
        var position = start
        while position < end {
            let byte = bytes[position]
            if byte == UInt8(ascii: "\"") {
                try checkStringLength(position - start, openedAt: quote)
                index = position + 1
                return makeString(start..<position)
            }
            if byte == UInt8(ascii: "\\") {
                return try parseEscapedString(openedAt: quote, firstEscape: position)
            }
            if byte < 0x20 {
                throw controlCharacter(at: position)
            }
            position = byte < 0x80 ? position + 1 : try validateUTF8(at: position)
        }
        throw unterminatedString(openedAt: quote)
    }

    /// Reads the rest of a string from its first escape on, decoding into `scratch`.
    private mutating func parseEscapedString(
        openedAt quote: Int,
        firstEscape: Int
    ) throws(JSONParseError) -> String {
        scratch.removeAll(keepingCapacity: true)
        scratch.append(contentsOf: bytes[(quote + 1)..<firstEscape])
        var position = firstEscape
        while position < end {
            let byte = bytes[position]
            switch byte {
            case UInt8(ascii: "\""):
                try checkStringLength(scratch.count, openedAt: quote)
                index = position + 1
                return String(decoding: scratch, as: UTF8.self)
            case UInt8(ascii: "\\"):
                guard position + 1 < end else { throw unterminatedString(openedAt: quote) }
                position = try decodeEscape(at: position)
            case 0x00..<0x20:
                throw controlCharacter(at: position)
            case 0x80...:
                let next = try validateUTF8(at: position)
                scratch.append(contentsOf: bytes[position..<next])
                position = next
            default:
                scratch.append(byte)
                position += 1
            }
        }
        throw unterminatedString(openedAt: quote)
    }

    /// Decodes the escape at `offset`, whose second byte exists, into `scratch`; returns the
    /// offset after it.
    private mutating func decodeEscape(at offset: Int) throws(JSONParseError) -> Int {
        let simple: UInt8
        switch bytes[offset + 1] {
        case UInt8(ascii: "\""): simple = UInt8(ascii: "\"")
        case UInt8(ascii: "\\"): simple = UInt8(ascii: "\\")
        case UInt8(ascii: "/"): simple = UInt8(ascii: "/")
        case UInt8(ascii: "b"): simple = 0x08
        case UInt8(ascii: "f"): simple = 0x0C
        case UInt8(ascii: "n"): simple = 0x0A
        case UInt8(ascii: "r"): simple = 0x0D
        case UInt8(ascii: "t"): simple = 0x09
        case UInt8(ascii: "u"): return try decodeUnicodeEscape(at: offset)
        default:
            throw JSONParseError(
                .invalidString,
                at: offset,
                "expected one of \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u after '\\' in a string, "
                    + "found \(describeByte(at: offset + 1, wholeWord: false))"
            )
        }
        scratch.append(simple)
        return offset + 2
    }

    /// Decodes `\uXXXX`, or a surrogate pair of two, at `offset`.
    private mutating func decodeUnicodeEscape(at offset: Int) throws(JSONParseError) -> Int {
        let unit = try hexQuad(at: offset + 2)
        var scalar = UInt32(unit)
        var next = offset + 6
        switch unit {
        case 0xD800...0xDBFF:
            let hasLow =
                next + 1 < end
                && bytes[next] == UInt8(ascii: "\\")
                && bytes[next + 1] == UInt8(ascii: "u")
            let low = hasLow ? try hexQuad(at: next + 2) : 0
            guard (0xDC00...0xDFFF).contains(low) else {
                throw JSONParseError(
                    .invalidString,
                    at: offset,
                    "lone surrogate \\u\(Self.hex4(unit)) in a string: a high surrogate must be "
                        + "followed by a low one (\\uDC00 to \\uDFFF)"
                )
            }
            scalar = 0x10000 + ((UInt32(unit) - 0xD800) << 10) + (UInt32(low) - 0xDC00)
            next += 6
        case 0xDC00...0xDFFF:
            throw JSONParseError(
                .invalidString,
                at: offset,
                "lone surrogate \\u\(Self.hex4(unit)) in a string: a low surrogate must follow a high one"
            )
        default:
            break
        }
        appendUTF8(scalar)
        return next
    }

    /// The value of the four hex digits at `offset`.
    private func hexQuad(at offset: Int) throws(JSONParseError) -> UInt16 {
        var value: UInt16 = 0
        for position in offset..<(offset + 4) {
            let digit: UInt8
            switch position < end ? bytes[position] : 0 {
            case let byte where byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"):
                digit = byte - UInt8(ascii: "0")
            case let byte where byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "f"):
                digit = byte - UInt8(ascii: "a") + 10
            case let byte where byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "F"):
                digit = byte - UInt8(ascii: "A") + 10
            default:
                throw JSONParseError(
                    .invalidString,
                    at: position,
                    "expected 4 hex digits after \\u in a string, found \(describeByte(at: position, wholeWord: false))"
                )
            }
            value = value << 4 | UInt16(digit)
        }
        return value
    }

    private mutating func appendUTF8(_ scalar: UInt32) {
        switch scalar {
        case ..<0x80:
            scratch.append(UInt8(scalar))
        case ..<0x800:
            scratch.append(UInt8(0xC0 | scalar >> 6))
            scratch.append(UInt8(0x80 | scalar & 0x3F))
        case ..<0x10000:
            scratch.append(UInt8(0xE0 | scalar >> 12))
            scratch.append(UInt8(0x80 | scalar >> 6 & 0x3F))
            scratch.append(UInt8(0x80 | scalar & 0x3F))
        default:
            scratch.append(UInt8(0xF0 | scalar >> 18))
            scratch.append(UInt8(0x80 | scalar >> 12 & 0x3F))
            scratch.append(UInt8(0x80 | scalar >> 6 & 0x3F))
            scratch.append(UInt8(0x80 | scalar & 0x3F))
        }
    }

    /// Checks the UTF-8 sequence whose first byte (not ASCII) is at `offset`; returns the
    /// offset after it.
    ///
    /// The ranges are those of the Unicode standard's table of well-formed sequences, which
    /// exclude overlong forms, surrogates and code points past U+10FFFF.
    func validateUTF8(at offset: Int) throws(JSONParseError) -> Int {
        let lead = bytes[offset]
        let length: Int
        var secondRange: ClosedRange<UInt8> = 0x80...0xBF
        switch lead {
        case 0xC2...0xDF: length = 2
        case 0xE0: length = 3; secondRange = 0xA0...0xBF
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED: length = 3; secondRange = 0x80...0x9F
        case 0xF0: length = 4; secondRange = 0x90...0xBF
        case 0xF1...0xF3: length = 4
        case 0xF4: length = 4; secondRange = 0x80...0x8F
        default:
            throw JSONParseError(
                .invalidUTF8,
                at: offset,
                "invalid UTF-8: byte \(Self.hexByte(lead)) cannot start a character"
            )
        }
        var wellFormed = offset + length <= end && secondRange.contains(bytes[offset + 1])
        if wellFormed {
            for position in (offset + 2)..<(offset + length) where bytes[position] & 0xC0 != 0x80 {
                wellFormed = false
            }
        }
        guard wellFormed else {
            throw JSONParseError(
                .invalidUTF8,
                at: offset,
                "invalid UTF-8: the sequence starting with byte \(Self.hexByte(lead)) is truncated or malformed"
            )
        }
        return offset + length
    }

    private func checkStringLength(_ length: Int, openedAt quote: Int) throws(JSONParseError) {
        guard length <= maxStringBytes else {
            throw JSONParseError(
                .stringTooLong,
                at: quote,
                "string of \(length) bytes is longer than the limit of \(maxStringBytes) bytes"
            )
        }
    }

    private func controlCharacter(at offset: Int) -> JSONParseError {
        JSONParseError(
            .invalidString,
            at: offset,
            "control character \(Self.scalarName(UInt32(bytes[offset]))) in a string must be escaped"
        )
    }

    private func unterminatedString(openedAt quote: Int) -> JSONParseError {
        JSONParseError(
            .invalidString,
            at: end,
            "expected '\"' to close the string opened at byte \(quote), found end of input"
        )
    }

    private static func hex4(_ unit: UInt16) -> String {
        let digits = String(unit, radix: 16, uppercase: true)
        return String(repeating: "0", count: 4 - digits.count) + digits
    }
}

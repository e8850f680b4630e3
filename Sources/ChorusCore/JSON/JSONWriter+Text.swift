// The text of numbers and strings, matching what CPython's `json` module writes.

extension JSONWriter {
    /// Writes `value` in decimal.
    mutating func writeInteger(_ value: Int64) {
        if value < 0 {
            bytes.append(UInt8(ascii: "-"))
        }
        // `magnitude` is unsigned, so Int64.min needs no special case.
        var magnitude = value.magnitude
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { digits in
            var position = digits.count
            repeat {
                position -= 1
                digits[position] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
            } while magnitude != 0
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: digits[position...]))
        }
    }

    /// Writes `value` as CPython's `float.__repr__` does.
    ///
    /// Swift's `description` already finds the shortest digits that read back as the same
    /// double, picking the one nearest the exact value when several are as short, as
    /// Python's `repr` does (the tests compare both on thousands of doubles). Only the
    /// layout differs: Python writes positional notation for decimal exponents from -4 to
    /// 15 (`1e-05` but `0.0001`, `1e+16` but `1000000000000000.0`), and `1.0` for integers.
    mutating func writeDouble(_ value: Double) {
        guard value.isFinite else {
            appendASCII(value.isNaN ? "NaN" : value < 0 ? "-Infinity" : "Infinity")
            return
        }
        if value == 0 {
            appendASCII(value.sign == .minus ? "-0.0" : "0.0")
            return
        }
        // Integral values below 2^53 (counters, epochs) are common and need no digit search.
        if value.magnitude < 0x1p53, value == value.rounded(.towardZero) {
            writeInteger(Int64(value))
            appendASCII(".0")
            return
        }
        var text = value.description
        text.withUTF8 { writeRepr(shortest: $0) }
    }

    /// Re-lays Swift's shortest text for a finite nonzero double (`0.0001`, `1e-05`,
    /// `1.2345678901234568e+16`) in Python's layout.
    private mutating func writeRepr(shortest text: UnsafeBufferPointer<UInt8>) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 32) { digits in
            var count = 0
            var mantissaDigits = 0
            var firstSignificant = 0
            var pointAt: Int?
            var exponent = 0
            var position = 0
            if text[0] == UInt8(ascii: "-") {
                bytes.append(UInt8(ascii: "-"))
                position = 1
            }
            while position < text.count {
                let byte = text[position]
                position += 1
                if byte == UInt8(ascii: ".") {
                    pointAt = mantissaDigits
                } else if byte == UInt8(ascii: "e") {
                    let negative = position < text.count && text[position] == UInt8(ascii: "-")
                    if position < text.count, negative || text[position] == UInt8(ascii: "+") {
                        position += 1
                    }
                    while position < text.count {
                        exponent = exponent * 10 + Int(text[position] - UInt8(ascii: "0"))
                        position += 1
                    }
                    exponent = negative ? -exponent : exponent
                } else {
                    mantissaDigits += 1
                    if count == 0, byte == UInt8(ascii: "0") {
                        continue
                    }
                    if count == 0 {
                        firstSignificant = mantissaDigits - 1
                    }
                    // Shortest digits are at most 17; anything past the buffer could only be
                    // the trailing zeros of a fixed layout, which `point` accounts for anyway.
                    if count < digits.count {
                        digits[count] = byte
                        count += 1
                    }
                }
            }
            while count > 1, digits[count - 1] == UInt8(ascii: "0") {
                count -= 1
            }
            // The value is 0.d1d2d3… × 10^point, as in David Gay's dtoa that Python uses.
            let point = (pointAt ?? mantissaDigits) - firstSignificant + exponent
            let significant = UnsafeBufferPointer(rebasing: digits[..<count])
            layOut(significant, point: point)
        }
    }

    private mutating func layOut(_ digits: UnsafeBufferPointer<UInt8>, point: Int) {
        let zero = UInt8(ascii: "0")
        if point <= -4 || point > 16 {
            bytes.append(digits[0])
            if digits.count > 1 {
                bytes.append(UInt8(ascii: "."))
                bytes.append(contentsOf: digits[1...])
            }
            let exponent = point - 1
            bytes.append(UInt8(ascii: "e"))
            bytes.append(exponent < 0 ? UInt8(ascii: "-") : UInt8(ascii: "+"))
            if abs(exponent) < 10 {
                bytes.append(zero)
            }
            writeInteger(Int64(abs(exponent)))
        } else if point <= 0 {
            appendASCII("0.")
            bytes.append(contentsOf: repeatElement(zero, count: -point))
            bytes.append(contentsOf: digits)
        } else if point >= digits.count {
            bytes.append(contentsOf: digits)
            bytes.append(contentsOf: repeatElement(zero, count: point - digits.count))
            appendASCII(".0")
        } else {
            bytes.append(contentsOf: digits[..<point])
            bytes.append(UInt8(ascii: "."))
            bytes.append(contentsOf: digits[point...])
        }
    }

    /// Writes `string` quoted, escaping what Python's `json` escapes: `"`, `\`, and control
    /// characters (as `\n` and the like, else `\u00XX`); with ``escapesNonASCII``, also DEL
    /// and every non-ASCII character (`\uXXXX`, surrogate pairs past U+FFFF).
    mutating func appendQuoted(_ string: String) {
        bytes.append(UInt8(ascii: "\""))
        var string = string
        let escapeFrom: UInt8 = escapesNonASCII ? 0x7F : 0xFF
        string.withUTF8 { utf8 in
            var runStart = 0
            var position = 0
            while position < utf8.count {
                let byte = utf8[position]
                let isQuoteOrBackslash = byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\")
                if byte >= 0x20, byte < escapeFrom, !isQuoteOrBackslash {
                    position += 1
                    continue
                }
                bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<position]))
                position = writeEscape(utf8, at: position)
                runStart = position
            }
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<position]))
        }
        bytes.append(UInt8(ascii: "\""))
    }

    /// Writes the escape for the character at `position`; returns the position after it.
    private mutating func writeEscape(_ utf8: UnsafeBufferPointer<UInt8>, at position: Int) -> Int {
        let byte = utf8[position]
        switch byte {
        case UInt8(ascii: "\""): appendASCII("\\\"")
        case UInt8(ascii: "\\"): appendASCII("\\\\")
        case 0x08: appendASCII("\\b")
        case 0x0C: appendASCII("\\f")
        case 0x0A: appendASCII("\\n")
        case 0x0D: appendASCII("\\r")
        case 0x09: appendASCII("\\t")
        case ..<0x80: writeUnicodeEscape(UInt16(byte))
        default:
            // A Swift string holds valid UTF-8, so the sequence is complete and well formed.
            let length = byte >= 0xF0 ? 4 : byte >= 0xE0 ? 3 : 2
            var scalar = UInt32(byte) & (0x7F >> length)
            for offset in 1..<length {
                scalar = scalar << 6 | UInt32(utf8[position + offset] & 0x3F)
            }
            if scalar >= 0x10000 {
                let excess = scalar - 0x10000
                writeUnicodeEscape(UInt16(0xD800 + (excess >> 10)))
                writeUnicodeEscape(UInt16(0xDC00 + (excess & 0x3FF)))
            } else {
                writeUnicodeEscape(UInt16(scalar))
            }
            return position + length
        }
        return position + 1
    }

    /// `\u` and four lowercase hex digits, as Python writes them.
    private mutating func writeUnicodeEscape(_ unit: UInt16) {
        let hex: StaticString = "0123456789abcdef"
        appendASCII("\\u")
        for shift in stride(from: 12, through: 0, by: -4) {
            bytes.append(hex.utf8Start[Int(unit >> UInt16(shift) & 0xF)])
        }
    }
}

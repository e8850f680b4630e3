// Numbers, decoded exactly (section 4 of `protocol.md`).
//
// Short decimals take Clinger's fast path: when the significant digits fit 2^53 and the power
// of ten is at most 10^22, both are exact doubles, so one IEEE multiplication or division
// rounds the exact result once, correctly.
//
// Python's `repr` writes 16 or 17 digits for most computed values (a float32 1e-4 widened to
// double prints as 9.999999747378752e-05), and about half of those pass 2^53. On x86 they go
// through Float80: up to 19 digits and 10^27 are exact there, so one operation gives the exact
// result rounded to 64 bits, and rounding that to 53 bits is correct unless the 64-bit result
// sits on a midpoint between two doubles (a double rounding could then go the wrong way).
// Those rare cases, and every other number (20 digits, 1e-300), go to the C library's
// correctly rounded `strtod`, by way of `Double(String)`, which calls it in the C locale and
// measured as fast here as calling `strtod` directly: about 130 ns a number, several times
// what the fast paths take.

extension JSONScanner {
    /// Reads a number, or `-Infinity`; `index` is at its first byte.
    mutating func parseNumber() throws(JSONParseError) -> JSONValue {
        let start = index
        var position = index
        let negative = bytes[position] == UInt8(ascii: "-")
        if negative {
            position += 1
            if position < end, bytes[position] == UInt8(ascii: "I") {
                index = position
                try expectWord("Infinity")
                return .double(-.infinity)
            }
        }

        // The first 19 significant digits fit a UInt64 whatever they are; past them only
        // whether a dropped digit was nonzero matters (the fast path is then impossible).
        var significand: UInt64 = 0
        var digits = 0
        var dropped = false
        var exponent = 0
        var isInteger = true

        guard position < end, let first = Self.digit(bytes[position]) else {
            throw unexpected("a digit after '-'", at: position, code: .invalidNumber)
        }
        if first == 0 {
            position += 1
            if position < end, Self.digit(bytes[position]) != nil {
                throw JSONParseError(
                    .invalidNumber,
                    at: start,
                    "leading zeros are not allowed in a number"
                )
            }
        } else {
            while position < end, let digit = Self.digit(bytes[position]) {
                if digits < 19 {
                    significand = significand &* 10 &+ UInt64(digit)
                    digits += 1
                } else {
                    exponent += 1
                    dropped = dropped || digit != 0
                }
                position += 1
            }
        }

        if position < end, bytes[position] == UInt8(ascii: ".") {
            isInteger = false
            position += 1
            guard position < end, Self.digit(bytes[position]) != nil else {
                throw unexpected(
                    "a digit after the decimal point",
                    at: position,
                    code: .invalidNumber
                )
            }
            while position < end, let digit = Self.digit(bytes[position]) {
                if digits < 19 {
                    // Zeros before the first significant digit only move the exponent.
                    if significand != 0 || digit != 0 {
                        significand = significand &* 10 &+ UInt64(digit)
                        digits += 1
                    }
                    exponent -= 1
                } else {
                    dropped = dropped || digit != 0
                }
                position += 1
            }
        }

        if position < end, bytes[position] | 0x20 == UInt8(ascii: "e") {
            isInteger = false
            position += 1
            var exponentIsNegative = false
            if position < end, bytes[position] == UInt8(ascii: "-") {
                exponentIsNegative = true
                position += 1
            } else if position < end, bytes[position] == UInt8(ascii: "+") {
                position += 1
            }
            guard position < end, Self.digit(bytes[position]) != nil else {
                throw unexpected("a digit in the exponent", at: position, code: .invalidNumber)
            }
            // Any exponent past a million is already far outside the range of doubles; stop
            // growing it so that a long run of digits cannot overflow.
            var written = 0
            while position < end, let digit = Self.digit(bytes[position]) {
                if written < 1_000_000 {
                    written = written * 10 + Int(digit)
                }
                position += 1
            }
            exponent += exponentIsNegative ? -written : written
        }
        index = position

        if isInteger, !dropped, exponent == 0 {
            if !negative, significand <= UInt64(Int64.max) {
                return .integer(Int64(significand))
            }
            if negative, significand <= UInt64(Int64.max) + 1 {
                // Two's complement negation of 2^63 is Int64.min, exactly what is wanted.
                return .integer(Int64(bitPattern: 0 &- significand))
            }
        }
        if !dropped, significand <= 1 << 53, (-22...22).contains(exponent) {
            let scaled = Double(significand)
            let power = Self.powersOfTen[abs(exponent)]
            let magnitude = exponent < 0 ? scaled / power : scaled * power
            return .double(negative ? -magnitude : magnitude)
        }
        #if arch(x86_64) || arch(i386)
            if !dropped, let magnitude = Self.viaFloat80(significand, exponent) {
                return .double(negative ? -magnitude : magnitude)
            }
        #endif
        return .double(try correctlyRounded(start..<position))
    }

    #if arch(x86_64) || arch(i386)
        /// `significand × 10^exponent` correctly rounded, or `nil` when Float80 cannot tell.
        ///
        /// The operands are exact (a UInt64, and 10^27 = 5^27 × 2^27 with 5^27 < 2^64), so the
        /// result is the exact value rounded once to Float80's 64-bit significand. Converting it
        /// rounds again, to 53 bits, which is correct unless the 11 bits dropped are exactly half
        /// of the last kept bit: only then can the exact value lie on the other side of the
        /// midpoint. The window below refuses one unit either side of it too, for margin.
        /// Results stay between 10^-27 and 10^46, far from subnormals and overflow.
        @inline(__always)
        private static func viaFloat80(_ significand: UInt64, _ exponent: Int) -> Double? {
            guard (-27...27).contains(exponent) else { return nil }
            let scaled = Float80(significand)
            let power = powersOfTen80[abs(exponent)]
            let result = exponent < 0 ? scaled / power : scaled * power
            let dropped = result.significandBitPattern & 0x7FF
            guard dropped < 0x3FF || dropped > 0x401 else { return nil }
            return Double(result)
        }

        /// 10^0 … 10^27, every one exact in Float80 (computed, so no literal can round).
        private static let powersOfTen80: [Float80] = {
            var powers: [Float80] = [1]
            for _ in 1...27 {
                powers.append(powers[powers.count - 1] * 10)
            }
            return powers
        }()
    #endif

    /// The double nearest to the number written in `range`, which has been validated.
    private func correctlyRounded(_ range: Range<Int>) throws(JSONParseError) -> Double {
        guard let value = Double(makeString(range)) else {
            // Unreachable for validated syntax; an error is still better than a trap.
            throw JSONParseError(
                .invalidNumber,
                at: range.lowerBound,
                "the number could not be converted"
            )
        }
        return value
    }

    @inline(__always)
    private static func digit(_ byte: UInt8) -> UInt8? {
        let value = byte &- UInt8(ascii: "0")
        return value < 10 ? value : nil
    }

    /// 10^0 … 10^22, every one an exact double.
    private static let powersOfTen: [Double] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
        1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
    ]
}

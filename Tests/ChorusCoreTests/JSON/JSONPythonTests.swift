import ChorusCore
import Testing

/// Checks against CPython's `json` module itself, on values it generates.
@Suite("JSON against Python's json module")
struct JSONPythonTests {
    /// Prints `d TEXT BITS` for doubles, `i TEXT` for integers that fit 64 bits,
    /// `f TEXT BITS` for integers that do not (with the bits of the nearest double), and
    /// `p TEXT BITS` for decimal texts Python does not write but reads (to be parsed only).
    static let numbersScript = #"""
        import json, math, random, struct
        random.seed(20241203)
        def bits(x): return format(struct.unpack('<Q', struct.pack('<d', x))[0], '016x')
        def from_bits(b): return struct.unpack('<d', struct.pack('<Q', b))[0]
        doubles = [0.0, -0.0, 5e-324, -5e-324, 2.2250738585072014e-308, 2.225073858507201e-308,
                   1.7976931348623157e308, 1e-05, 0.1, 1e300, 1e16, 1e15, 9007199254740993.0,
                   float(2**63), float(2**64), 1e-320, 123e-310, 0.3141592653589793, 1733241712.5]
        while len(doubles) < 1000:
            x = from_bits(random.getrandbits(64))
            if math.isfinite(x): doubles.append(x)
        doubles += [from_bits(random.getrandbits(52)) for _ in range(200)]
        for _ in range(800):
            x = random.random() * 10.0 ** random.randint(-12, 12)
            doubles.append(round(x, random.randint(0, 17)) if random.random() < 0.5 else x)
        # float32 values widened to double, as numpy and torch scalars often arrive.
        doubles += [struct.unpack('<f', struct.pack('<f', random.uniform(-1e6, 1e6)))[0]
                    for _ in range(200)]
        for x in doubles: print('d', json.dumps(x), bits(x))
        ints = [0, -1, 1, 2**63 - 1, -2**63, 2**63, -2**63 - 1, 2**64, -2**64, 2**53 + 1, 10**20, 10**30,
                2**63 - 2, 2**63 + 1, 2**64 - 1, 2**64 + 1, 10**308, 10**309, 2**1024,
                2**1024 - 2**970, 2**1024 - 2**970 - 1]
        ints += [random.randint(-2**(k), 2**(k)) for k in range(1, 80) for _ in range(5)]
        for i in ints:
            if -2**63 <= i < 2**63: print('i', json.dumps(i))
            else:
                try: f = float(i)
                except OverflowError: f = math.inf if i > 0 else -math.inf
                print('f', json.dumps(i), bits(f))
        # 17 to 19 significant digits with small exponents: the parser's Float80 path.
        for _ in range(3000):
            digits = str(random.randint(10**16, 10**19 - 1))
            point = random.randint(0, len(digits))
            text = digits[:point] + '.' + digits[point:] if 0 < point < len(digits) else digits + '.0'
            text += 'e%d' % random.randint(-12, 8) if random.random() < 0.3 else ''
            print('p', text, bits(float(text)))
        # Exact midpoints between two doubles, and values a hair off them, where rounding
        # twice could go wrong: between 2^53 and 10^19 midpoints are integers of at most 19
        # digits, and below 10^17 two decimals more still fit 19 digits.
        for _ in range(1000):
            x = float(random.randint(2**53, 10**19 - 2**12))
            middle = (int(x) + int(math.nextafter(x, math.inf))) // 2
            texts = ['%d.0' % m for m in (middle - 1, middle, middle + 1)]
            texts += ['%de0' % middle, '%s.%se1' % (str(middle)[:-1], str(middle)[-1])]
            if middle < 10**17:
                texts += ['%d.01' % middle, '%d.99' % (middle - 1)]
            for text in texts:
                print('p', text, bits(float(text)))
        """#

    /// Prints one document in four encodings: `ensure_ascii` on and off, compact and default
    /// separators, each line prefixed with `A` or `U` and `C` or `S`.
    static let documentsScript = #"""
        import json, random
        random.seed(7)
        pool = [chr(c) for c in range(0, 0x80)] + ['é', 'ß', '\u2028', '\u2029', '\ufeff', '\uffff',
                '☃', '中', '😀', '\U0010ffff', '\U0001d11e', '\x7f', '\x80', '\xa0']
        def text(n): return ''.join(random.choice(pool) for _ in range(n))
        for _ in range(200):
            doc = {text(random.randint(0, 6)) + str(i): random.choice([
                text(random.randint(0, 30)), random.random(), random.randint(-2**63, 2**63 - 1),
                None, True, False, [text(3), 1.5e-7, [], {}], {'_type': 'histogram', 'bins': [1, 2.5]},
                float('nan'), float('inf'), -float('inf')]) for i in range(random.randint(0, 8))}
            for ascii in (True, False):
                for sep in (None, (',', ':')):
                    line = json.dumps(doc, ensure_ascii=ascii, separators=sep)
                    print(('A' if ascii else 'U') + ('C' if sep else 'S'), line)
        """#

    @Test("doubles and integers Python writes parse bit-exactly and are written back identically")
    func numbers() throws {
        let lines = try PythonReference.lines(Self.numbersScript)
        #expect(lines.count > 10_000)
        var writer = JSONWriter()
        for line in lines {
            let fields = line.split(separator: UInt8(ascii: " ")).map { String(decoding: $0, as: UTF8.self) }
            try #require(fields.count >= 2)
            let kind = fields[0]
            let text = fields[1]
            let value = try JSONParser.parse(text)
            writer.reset()
            switch kind {
            case "d":
                let bits = try #require(UInt64(fields[2], radix: 16))
                #expect(value.doubleValue?.bitPattern == bits, "\(text)")
                writer.appendDouble(Double(bitPattern: bits))
                #expect(String(decoding: writer.bytes, as: UTF8.self) == text)
            case "i":
                let integer = try #require(Int64(text))
                #expect(value == .integer(integer))
                writer.appendInteger(integer)
                #expect(String(decoding: writer.bytes, as: UTF8.self) == text)
            default:
                // "f" and "p": parse only.
                let bits = try #require(UInt64(fields[2], radix: 16))
                #expect(value.doubleValue?.bitPattern == bits, "\(text)")
            }
        }
    }

    @Test("documents Python writes in any of its four styles parse and are written back byte for byte")
    func documents() throws {
        let lines = try PythonReference.lines(Self.documentsScript)
        #expect(lines.count == 800)
        for line in lines {
            let style = String(decoding: line.prefix(2), as: UTF8.self)
            let text = Array(line.dropFirst(3))
            let value = try JSONParser.parse(text)
            let written = JSONWriter.encode(
                value,
                separators: style.hasSuffix("C") ? .compact : .spaced,
                escapesNonASCII: style.hasPrefix("A")
            )
            #expect(written == text, "\(style) \(String(decoding: text, as: UTF8.self))")
        }
    }
}

import ChorusCore
import Testing

/// Mutated documents: the parser must never trap or hang, and must agree with Python.
@Suite("JSON parser under mutated input")
struct JSONFuzzTests {
    static let seeds: [String] = [
        #"{"v":1,"kind":"log","run":"job-42","rank":3,"inc":"5f0c1e9a","attempt":0,"seq":1234,"step":1200,"#
            + #""ts":1733241712.5,"data":{"loss":0.3141592653589793,"lr":0.0001,"train":{"z_loss":1e-05}}}"#,
        #"{"a": [1, -2.5e-7, NaN, Infinity, -Infinity, true, false, null], "b": {"c": {"d": []}}}"#,
        #"["\u00e9\ud83d\ude00\n\t\\\"", "é😀", "\u0000", 12345678901234567890, -0, 0.0, 1E+2]"#,
        #"{"h": {"_type": "histogram", "bins": [0, 0.5, 1], "values": [3, 4]}, "s": "a/b"}"#,
    ]

    /// Bytes that change the meaning of a document the most.
    static let interesting: [UInt8] =
        Array(#"{}[]",:\-+.eE0123456789 tnfNIu"#.utf8)
        + [0x00, 0x0A, 0x7F, 0x80, 0xBF, 0xC3, 0xE2, 0xED, 0xF0, 0xFF]

    static func mutate(_ seed: [UInt8], _ random: inout SeededGenerator) -> [UInt8] {
        var bytes = seed
        for _ in 0..<Int.random(in: 1...4, using: &random) {
            let position = Int.random(in: 0...bytes.count, using: &random)
            let byte =
                Bool.random(using: &random)
                ? interesting.randomElement(using: &random)!
                : UInt8.random(in: 0...255, using: &random)
            switch Int.random(in: 0..<4, using: &random) {
            case 0 where position < bytes.count:
                bytes[position] = byte
            case 1 where position < bytes.count:
                bytes.remove(at: position)
            case 2:
                bytes.insert(byte, at: position)
            default:
                let end = min(bytes.count, position + Int.random(in: 1...8, using: &random))
                bytes.insert(contentsOf: bytes[position..<end], at: position)
            }
        }
        return bytes
    }

    @Test("mutated documents are parsed or refused exactly as Python's json.loads decides")
    func agreesWithPython() throws {
        var random = SeededGenerator(seed: 42)
        let seeds = Self.seeds.map { Array($0.utf8) }
        let inputs = (0..<20_000).map { Self.mutate(seeds[$0 % seeds.count], &random) }

        // Python reads each input as strict UTF-8 with the protocol's integer rule, and
        // prints its compact re-encoding, or ERR.
        let script = #"""
            import json, sys
            def integer(t):
                return int(t) if len(t) < 30 and -2**63 <= int(t) < 2**63 else float(t)
            for line in sys.stdin.buffer.read().split(b'\n'):
                if not line: continue
                try:
                    value = json.loads(bytes.fromhex(line.decode()).decode('utf-8'), parse_int=integer)
                    out = json.dumps(value, ensure_ascii=False, separators=(',', ':'))
                    sys.stdout.buffer.write(b'OK ' + out.encode('utf-8', 'surrogatepass').hex().encode() + b'\n')
                except (ValueError, RecursionError):
                    sys.stdout.buffer.write(b'ERR\n')
            """#
        let hexLines = inputs.map { Self.hex($0) }.joined(separator: "\n")
        let verdicts = try PythonReference.lines(script, input: Array(hexLines.utf8))
        try #require(verdicts.count == inputs.count)

        var accepted = 0
        for (input, verdict) in zip(inputs, verdicts) {
            let python = String(decoding: verdict, as: UTF8.self)
            let shown = String(decoding: input, as: UTF8.self).debugDescription
            do {
                let value = try JSONParser.parse(input)
                accepted += 1
                // What this parser accepts, Python accepts, with the same value.
                #expect(python == "OK " + Self.hex(JSONWriter.encode(value)), "\(shown)")
            } catch {
                // Python accepts some things on purpose refused here (a repeated key, a
                // lone surrogate); it must never refuse what is accepted here.
                _ = error
            }
        }
        #expect(accepted > 1_000)
    }

    @Test("no input traps or hangs: random bytes, truncations and deep nesting")
    func neverTraps() {
        var random = SeededGenerator(seed: 7)
        for _ in 0..<20_000 {
            let count = Int.random(in: 0..<64, using: &random)
            let bytes = (0..<count).map { _ in Self.interesting.randomElement(using: &random)! }
            _ = try? JSONParser.parse(bytes)
        }
        for seed in Self.seeds {
            let bytes = Array(seed.utf8)
            for end in 0...bytes.count {
                _ = try? JSONParser.parse(Array(bytes[..<end]))
            }
        }
        for opener in ["[", "{\"a\":", "[{\"a\":"] {
            let deep = String(repeating: opener, count: 200_000)
            #expect(throws: JSONParseError.self) { try JSONParser.parse(deep) }
        }
    }

    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var text = [UInt8]()
        text.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0xF)])
        }
        return String(decoding: text, as: UTF8.self)
    }
}

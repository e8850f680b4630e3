import ChorusCore
import Testing

@Suite("JSON numbers: decoded and written exactly")
struct JSONNumberTests {
    /// Texts and the bits of the double Python's `float` reads from them: halfway cases,
    /// subnormals, the edges of the range, and the fast path's limits.
    static let decimals: [(String, UInt64)] = [
        ("0.1", 0x3FB9_9999_9999_999A),
        ("0.2", 0x3FC9_9999_9999_999A),
        ("0.30000000000000004", 0x3FD3_3333_3333_3334),
        ("1.0000000000000002", 0x3FF0_0000_0000_0001),
        ("0.3141592653589793", 0x3FD4_1B2F_769C_F0E0),
        ("1733241712.5", 0x41D9_D3CA_DC20_0000),
        ("1e-05", 0x3EE4_F8B5_88E3_68F1),
        ("0.0001", 0x3F1A_36E2_EB1C_432D),
        ("1e+16", 0x4341_C379_37E0_8000),
        ("1e16", 0x4341_C379_37E0_8000),
        ("1e22", 0x4480_F0CF_064D_D592),
        ("1e23", 0x44B5_2D02_C7E1_4AF6),
        ("9007199254740993.0", 0x4340_0000_0000_0000),
        ("9007199254740993e-22", 0x3EAE_3920_1017_5EE7),
        ("9007199254740992e22", 0x47D0_F0CF_064D_D592),
        ("5e-324", 0x0000_0000_0000_0001),
        ("4.9406564584124654e-324", 0x0000_0000_0000_0001),
        ("2.4703282292062327e-324", 0x0000_0000_0000_0000),
        ("2.4703282292062328e-324", 0x0000_0000_0000_0001),
        ("2.225073858507201e-308", 0x000F_FFFF_FFFF_FFFF),
        ("2.2250738585072014e-308", 0x0010_0000_0000_0000),
        ("2.2250738585072011e-308", 0x000F_FFFF_FFFF_FFFF),
        ("1.7976931348623157e+308", 0x7FEF_FFFF_FFFF_FFFF),
        ("1.7976931348623158e+308", 0x7FEF_FFFF_FFFF_FFFF),
        ("1.7976931348623159e+308", 0x7FF0_0000_0000_0000),
        ("7.038531e-26", 0x3AB5_C87F_B000_0000),
        ("8.98846567431158e+307", 0x7FE0_0000_0000_0000),
        ("123456789012345678901234567890.0", 0x45F8_EE90_FF6C_373E),
        ("0.000000000000000000000000000001", 0x39B4_484B_FEEB_C2A0),
        ("1.00000000000000011102230246251565404236316680908203125", 0x3FF0_0000_0000_0000),
        ("1.00000000000000011102230246251565404236316680908203124", 0x3FF0_0000_0000_0000),
        ("1.00000000000000011102230246251565404236316680908203126", 0x3FF0_0000_0000_0001),
        ("6.0221407600000003e+23", 0x44DF_E185_CA57_C518),
        ("3.141592653589793238462643383279", 0x4009_21FB_5444_2D18),
        ("-2.5e-5", 0xBEFA_36E2_EB1C_432D),
        ("1E-7", 0x3E7A_D7F2_9ABC_AF48),
        ("0.1e1", 0x3FF0_0000_0000_0000),
        ("100e-2", 0x3FF0_0000_0000_0000),
        ("1.5e300", 0x7E41_EB2D_6600_5835),
        ("4503599627370496.5", 0x4330_0000_0000_0000),
        ("4503599627370497.5", 0x4330_0000_0000_0002),
        ("9.5e15", 0x4340_E019_8EAE_E000),
    ]

    /// Bits of doubles and the text Python's `json.dumps` writes for them.
    static let reprs: [(UInt64, String)] = [
        (0x0000_0000_0000_0000, "0.0"),
        (0x8000_0000_0000_0000, "-0.0"),
        (0x3FF0_0000_0000_0000, "1.0"),
        (0xBFF0_0000_0000_0000, "-1.0"),
        (0x3FE0_0000_0000_0000, "0.5"),
        (0x3FB9_9999_9999_999A, "0.1"),
        (0x4059_0000_0000_0000, "100.0"),
        (0x430C_6BF5_2634_0000, "1000000000000000.0"),
        (0x4341_C379_37E0_8000, "1e+16"),
        (0x4340_E019_8EAE_E000, "9500000000000000.0"),
        (0x4340_0000_0000_0000, "9007199254740992.0"),
        (0x4340_0000_0000_0001, "9007199254740994.0"),
        (0x3F1A_36E2_EB1C_432D, "0.0001"),
        (0x3EE4_F8B5_88E3_68F1, "1e-05"),
        (0x3EEF_7510_4D55_1D69, "1.5e-05"),
        (0x3F20_2E4B_6CE5_DC68, "0.00012345"),
        (0x40FE_240B_3333_3333, "123456.7"),
        (0x41D9_D3CA_DC20_0000, "1733241712.5"),
        (0x4480_F0CF_064D_D592, "1e+22"),
        (0x44B5_2D02_C7E1_4AF6, "1e+23"),
        (0x0000_0000_0000_0001, "5e-324"),
        (0x0010_0000_0000_0000, "2.2250738585072014e-308"),
        (0x7FEF_FFFF_FFFF_FFFF, "1.7976931348623157e+308"),
        (0x3FD4_1B2F_769C_F0E0, "0.3141592653589793"),
        (0x3FD5_5555_5555_5555, "0.3333333333333333"),
        (0x3FE5_5555_5555_5555, "0.6666666666666666"),
        (0xBEFA_36E2_EB1C_432D, "-2.5e-05"),
        (0x54B2_49AD_2594_C37D, "1e+100"),
        (0x01AA_74FE_1C1E_8908, "1.2345678901234568e-300"),
        (0x4345_EE2A_2EB5_A5C4, "1.2345678901234568e+16"),
        (0x433F_FFFF_FFFF_FFFF, "9007199254740991.0"),
        (0x3FD3_3333_3333_3334, "0.30000000000000004"),
        (0x7FF8_0000_0000_0000, "NaN"),
        (0x7FF0_0000_0000_0000, "Infinity"),
        (0xFFF0_0000_0000_0000, "-Infinity"),
        (0x3E4A_69FF_1B55_5051, "1.23e-08"),
        (0x4011_6666_6666_6666, "4.35"),
        (0x3E7A_D7F2_9ABC_AF48, "1e-07"),
    ]

    @Test("every decimal text parses to the double Python reads, bit for bit", arguments: decimals)
    func parsesBitExactly(text: String, bits: UInt64) throws {
        let value = try JSONParser.parse(text)
        #expect(value.doubleValue?.bitPattern == bits)
    }

    @Test("every double is written as Python writes it, and reads back bit for bit", arguments: reprs)
    func writesLikePython(bits: UInt64, text: String) throws {
        let double = Double(bitPattern: bits)
        var writer = JSONWriter()
        writer.appendDouble(double)
        #expect(String(decoding: writer.bytes, as: UTF8.self) == text)
        #expect(try JSONParser.parse(writer.bytes) == .double(double))
    }

    @Test("integers are written plainly, the extremes included", arguments: [Int64.min, -1, 0, 7, Int64.max])
    func integers(value: Int64) throws {
        var writer = JSONWriter()
        writer.appendInteger(value)
        #expect(String(decoding: writer.bytes, as: UTF8.self) == String(value))
        #expect(try JSONParser.parse(writer.bytes) == .integer(value))
    }

    @Test("doubles across the whole range survive a write and a parse, bit for bit")
    func randomRoundTrips() throws {
        var random = SeededGenerator(seed: 0x5EED)
        var writer = JSONWriter()
        for _ in 0..<20_000 {
            let double = Double(bitPattern: random.next())
            writer.reset()
            writer.appendDouble(double)
            let parsed = try JSONParser.parse(writer.bytes)
            #expect(parsed == .double(double), "\(String(decoding: writer.bytes, as: UTF8.self))")
        }
    }
}

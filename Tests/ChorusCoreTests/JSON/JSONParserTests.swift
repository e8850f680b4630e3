import ChorusCore
import Testing

@Suite("JSON parser: what it accepts")
struct JSONParserTests {
    @Test("a step record parses into its fields in document order")
    func stepRecord() throws {
        let text = #"""
            {"v":1,"kind":"log","run":"job-42","rank":3,"inc":"5f0c1e9a","attempt":0,"seq":1234,\#
            "step":1200,"ts":1733241712.5,"data":{"loss":0.3141592653589793,"lr":0.0001,\#
            "train":{"z_loss":1e-05},"hist":{"_type":"histogram","bins":[1,2]},"note":null}}
            """#
        let value = try JSONParser.parse(text)
        let expected: JSONValue = [
            "v": 1, "kind": "log", "run": "job-42", "rank": 3, "inc": "5f0c1e9a", "attempt": 0,
            "seq": 1234, "step": 1200, "ts": 1733241712.5,
            "data": [
                "loss": 0.3141592653589793, "lr": 0.0001, "train": ["z_loss": 1e-05],
                "hist": ["_type": "histogram", "bins": [1, 2]], "note": .null,
            ],
        ]
        #expect(value == expected)
        #expect(value.objectValue?.keys.first == "v")
        #expect(value.objectValue?["step"] == .integer(1200))
        #expect(value.objectValue?["missing"] == nil)
    }

    @Test("Python's default separators and any JSON whitespace are accepted")
    func whitespace() throws {
        let spaced = try JSONParser.parse("{\"a\": [1, 2], \"b\": {\"c\": null}}")
        let padded = try JSONParser.parse(" \t\r\n{ \"a\" :\n[ 1 ,2 ] ,\"b\":{\"c\" : null } }\n")
        let expected: JSONValue = ["a": [1, 2], "b": ["c": .null]]
        #expect(spaced == expected)
        #expect(padded == expected)
    }

    @Test(
        "any value may stand at the top level",
        arguments: [
            ("null", JSONValue.null), ("true", true), ("false", false), ("0", 0), ("-7", -7),
            ("2.5", 2.5), ("\"x\"", "x"), ("[]", []), ("{}", [:]), ("[[], {}]", [[], [:]]),
        ] as [(String, JSONValue)]
    )
    func topLevelValues(text: String, expected: JSONValue) throws {
        #expect(try JSONParser.parse(text) == expected)
    }

    @Test("NaN, Infinity and -Infinity are doubles, as Python writes them")
    func nonFiniteTokens() throws {
        let value = try JSONParser.parse("[NaN, Infinity, -Infinity]")
        let array = try #require(value.arrayValue)
        #expect(array.count == 3)
        #expect(array[0].doubleValue?.isNaN == true)
        #expect(array[1] == .double(.infinity))
        #expect(array[2] == .double(-.infinity))
    }

    @Test(
        "numbers without a fraction or exponent are integers while they fit 64 bits",
        arguments: [
            ("0", JSONValue.integer(0)),
            ("-0", .integer(0)),
            ("42", .integer(42)),
            ("9223372036854775807", .integer(.max)),
            ("-9223372036854775808", .integer(.min)),
            ("9223372036854775808", .double(0x1p63)),
            ("-9223372036854775809", .double(-0x1p63)),
            ("18446744073709551616", .double(0x1p64)),
            ("100000000000000000000000", .double(1e23)),
            ("1" + String(repeating: "0", count: 400), .double(.infinity)),
            ("1.0", .double(1)),
            ("1e2", .double(100)),
            ("1E+2", .double(100)),
            ("-0.0", .double(-0.0)),
            ("0e999", .double(0)),
            ("1e400", .double(.infinity)),
            ("-1e400", .double(-.infinity)),
            ("1e-400", .double(0)),
        ]
    )
    func integersAndDoubles(text: String, expected: JSONValue) throws {
        #expect(try JSONParser.parse(text) == expected)
    }

    @Test(
        "escapes decode, surrogate pairs included, in either hex case",
        arguments: [
            (#""\"\\\/\b\f\n\r\t""#, "\"\\/\u{08}\u{0C}\n\r\t"),
            (#""\u0041\u00e9\u00E9""#, "Aéé"),
            (#""\ud83d\ude00 \uD83D\uDE00""#, "😀 😀"),
            (#""\u0000 \u001f""#, "\u{0} \u{1F}"),
            (#""a\u0062c""#, "abc"),
            (#""plain ascii""#, "plain ascii"),
            ("\"raw é ☃ 😀\"", "raw é ☃ 😀"),
            ("\"raw é then \\n escape\"", "raw é then \n escape"),
            ("\"\u{7F}\"", "\u{7F}"),
        ]
    )
    func strings(text: String, expected: String) throws {
        let value = try JSONParser.parse(text)
        #expect(value == .string(expected))
    }

    @Test("keys that are canonically equivalent but differ in bytes are two keys, as in Python")
    func canonicallyEquivalentKeys() throws {
        let value = try JSONParser.parse("{\"\u{E9}\": 1, \"e\u{301}\": 2}")
        let object = try #require(value.objectValue)
        #expect(object.count == 2)
        #expect(object["\u{E9}"] == 1)
        #expect(object["e\u{301}"] == 2)
    }

    @Test("an object with many keys is accepted, and a repeat among them is still found")
    func manyKeys() throws {
        let members = (0..<1000).map { "\"key\($0)\": \($0)" }
        let object = try #require(try JSONParser.parse("{" + members.joined(separator: ",") + "}").objectValue)
        #expect(object.count == 1000)
        #expect(object["key999"] == 999)

        let repeated = "{" + (members + ["\"key500\": 0"]).joined(separator: ",") + "}"
        #expect(throws: JSONParseError.self) { try JSONParser.parse(repeated) }
        do {
            _ = try JSONParser.parse(repeated)
        } catch {
            #expect(error.code == .duplicateKey)
            #expect(error.key == "key500")
        }
    }

    @Test("the byte, array and string entry points agree")
    func entryPoints() throws {
        let text = #"{"a":[1,2.5,"é"]}"#
        let bytes = Array(text.utf8)
        let fromBuffer = try bytes.withUnsafeBytes { buffer in
            try Result { () throws(JSONParseError) in try JSONParser.parse(buffer) }.get()
        }
        #expect(try JSONParser.parse(text) == fromBuffer)
        #expect(try JSONParser.parse(bytes) == fromBuffer)
    }
}

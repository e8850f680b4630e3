import ChorusCore
import Testing

/// One input the parser must refuse, with the error it must give.
struct JSONRejection: Sendable, CustomTestStringConvertible {
    let bytes: [UInt8]
    let code: JSONParseError.Code
    let message: String

    init(_ text: String, _ code: JSONParseError.Code, _ offset: Int, _ detail: String) {
        self.init(bytes: Array(text.utf8), code, offset, detail)
    }

    init(bytes: [UInt8], _ code: JSONParseError.Code, _ offset: Int, _ detail: String) {
        self.bytes = bytes
        self.code = code
        self.message = "invalid JSON at byte \(offset): \(detail)"
    }

    var testDescription: String {
        String(decoding: bytes.prefix(40), as: UTF8.self).debugDescription
    }
}

@Suite("JSON parser: what it rejects, and the errors it gives")
struct JSONParserRejectionTests {
    static let nonFinite = "(non-finite numbers are spelled NaN, Infinity and -Infinity)"
    static let escapes = #"\" \\ \/ \b \f \n \r \t \u"#
    static let atEnd = "found end of input"
    static let loneHigh = "a high surrogate must be followed by a low one (\\uDC00 to \\uDFFF)"

    static let syntax: [JSONRejection] = [
        JSONRejection("", .syntax, 0, "expected a value, found end of input"),
        JSONRejection("  ", .syntax, 2, "expected a value, found end of input"),
        JSONRejection("+1", .syntax, 0, "expected a value, found '+'"),
        JSONRejection(".5", .syntax, 0, "expected a value, found '.'"),
        JSONRejection("[1,]", .syntax, 3, "expected a value after ',', found ']'"),
        JSONRejection("[1,,2]", .syntax, 3, "expected a value, found ','"),
        JSONRejection("[1 2]", .syntax, 3, "expected ',' or ']' after an array element, found '2'"),
        JSONRejection("[1", .syntax, 2, "expected ',' or ']' after an array element, found end of input"),
        JSONRejection(#"{"a":1,}"#, .syntax, 7, "expected a string key after ',', found '}'"),
        JSONRejection(#"{"a":1 "b":2}"#, .syntax, 7, #"expected ',' or '}' after an object member, found '"'"#),
        JSONRejection(#"{"a":1x}"#, .syntax, 6, "expected ',' or '}' after an object member, found 'x'"),
        JSONRejection(#"{"a" 1}"#, .syntax, 5, "expected ':' after an object key, found '1'"),
        JSONRejection(#"{"a":}"#, .syntax, 5, "expected a value, found '}'"),
        JSONRejection("{,}", .syntax, 1, "expected a string key or '}', found ','"),
        JSONRejection("{1:2}", .syntax, 1, "expected a string key or '}', found '1'"),
        JSONRejection(
            "{'a':1}", .syntax, 1,
            #"expected a string key or '}', found "'" (JSON strings take double quotes)"#
        ),
        JSONRejection("'a'", .syntax, 0, #"expected a value, found "'" (JSON strings take double quotes)"#),
        JSONRejection("// note\n1", .syntax, 0, "expected a value, found '/' (JSON has no comments)"),
        JSONRejection(
            "[1 /* c */]", .syntax, 3,
            "expected ',' or ']' after an array element, found '/' (JSON has no comments)"
        ),
        JSONRejection("nan", .syntax, 0, "expected a value, found 'nan' \(nonFinite)"),
        JSONRejection("[inf]", .syntax, 1, "expected a value, found 'inf' \(nonFinite)"),
        JSONRejection("Infinity1", .syntax, 8, "expected end of input after the top-level value, found '1'"),
        JSONRejection("True", .syntax, 0, "expected a value, found 'True'"),
        JSONRejection("nul", .syntax, 0, "expected a value, found 'nul'"),
        JSONRejection("NaNa", .syntax, 3, "expected end of input after the top-level value, found 'a'"),
        JSONRejection("{} {}", .syntax, 3, "expected end of input after the top-level value, found '{'"),
        JSONRejection(
            "1\u{0}", .syntax, 1,
            "expected end of input after the top-level value, found control character U+0000"
        ),
        JSONRejection("\u{C}1", .syntax, 0, "expected a value, found control character U+000C"),
        JSONRejection("\u{A0}1", .syntax, 0, "expected a value, found byte 0xC2"),
        JSONRejection("\u{FEFF}{}", .syntax, 0, "expected a value, found a UTF-8 byte order mark"),
    ]

    static let numbers: [JSONRejection] = [
        JSONRejection("01", .invalidNumber, 0, "leading zeros are not allowed in a number"),
        JSONRejection("[-007]", .invalidNumber, 1, "leading zeros are not allowed in a number"),
        JSONRejection("1.", .invalidNumber, 2, "expected a digit after the decimal point, found end of input"),
        JSONRejection("1.e5", .invalidNumber, 2, "expected a digit after the decimal point, found 'e5'"),
        JSONRejection("1e", .invalidNumber, 2, "expected a digit in the exponent, found end of input"),
        JSONRejection("1e+", .invalidNumber, 3, "expected a digit in the exponent, found end of input"),
        JSONRejection("-", .invalidNumber, 1, "expected a digit after '-', found end of input"),
        JSONRejection("- 1", .invalidNumber, 1, "expected a digit after '-', found a space"),
        JSONRejection("-inf", .invalidNumber, 1, "expected a digit after '-', found 'inf' \(nonFinite)"),
        JSONRejection("-NaN", .invalidNumber, 1, "expected a digit after '-', found 'NaN'"),
        JSONRejection("-Inf", .syntax, 1, "expected a value, found 'Inf'"),
    ]

    static let strings: [JSONRejection] = [
        JSONRejection(#""abc"#, .invalidString, 4, #"expected '"' to close the string opened at byte 0, \#(atEnd)"#),
        JSONRejection(#"["a\"#, .invalidString, 4, #"expected '"' to close the string opened at byte 1, \#(atEnd)"#),
        JSONRejection("\"a\tb\"", .invalidString, 2, "control character U+0009 in a string must be escaped"),
        JSONRejection("\"a\nb\"", .invalidString, 2, "control character U+000A in a string must be escaped"),
        JSONRejection(#""a\qb""#, .invalidString, 2, "expected one of \(escapes) after '\\' in a string, found 'q'"),
        JSONRejection(#""\x41""#, .invalidString, 1, "expected one of \(escapes) after '\\' in a string, found 'x'"),
        JSONRejection(#""\u12""#, .invalidString, 5, #"expected 4 hex digits after \u in a string, found '"'"#),
        JSONRejection(#""\u00g0""#, .invalidString, 5, #"expected 4 hex digits after \u in a string, found 'g'"#),
        JSONRejection(#""\ud800""#, .invalidString, 1, "lone surrogate \\uD800 in a string: \(loneHigh)"),
        JSONRejection(#""\ud83dx""#, .invalidString, 1, "lone surrogate \\uD83D in a string: \(loneHigh)"),
        JSONRejection(#""\ud800\u0041""#, .invalidString, 1, "lone surrogate \\uD800 in a string: \(loneHigh)"),
        JSONRejection(#""\ud800\ud800""#, .invalidString, 1, "lone surrogate \\uD800 in a string: \(loneHigh)"),
        JSONRejection(
            #""\udc00\ud800""#, .invalidString, 1,
            #"lone surrogate \uDC00 in a string: a low surrogate must follow a high one"#
        ),
    ]

    /// Byte sequences that are not UTF-8, each inside a string at offset 3.
    static let utf8: [JSONRejection] = [
        ([0xFF], "byte 0xFF cannot start a character"),
        ([0x80], "byte 0x80 cannot start a character"),
        ([0xC0, 0xAF], "byte 0xC0 cannot start a character"),
        ([0xC1, 0xBF], "byte 0xC1 cannot start a character"),
        ([0xF5, 0x80, 0x80, 0x80], "byte 0xF5 cannot start a character"),
        ([0xC3], "the sequence starting with byte 0xC3 is truncated or malformed"),
        ([0xC3, 0x28], "the sequence starting with byte 0xC3 is truncated or malformed"),
        ([0xE0, 0x80, 0xAF], "the sequence starting with byte 0xE0 is truncated or malformed"),
        ([0xED, 0xA0, 0x80], "the sequence starting with byte 0xED is truncated or malformed"),
        ([0xE2, 0x82], "the sequence starting with byte 0xE2 is truncated or malformed"),
        ([0xF0, 0x8F, 0xBF, 0xBF], "the sequence starting with byte 0xF0 is truncated or malformed"),
        ([0xF4, 0x90, 0x80, 0x80], "the sequence starting with byte 0xF4 is truncated or malformed"),
        ([0xF0, 0x9F, 0x98, 0x41], "the sequence starting with byte 0xF0 is truncated or malformed"),
    ].map { sequence, detail in
        JSONRejection(
            bytes: Array(#"["a"#.utf8) + sequence + Array(#""]"#.utf8),
            .invalidUTF8,
            3,
            "invalid UTF-8: \(detail)"
        )
    }

    @Test("malformed structure is refused with what was expected and found", arguments: syntax)
    func syntaxErrors(_ rejection: JSONRejection) {
        check(rejection)
    }

    @Test("malformed numbers are refused", arguments: numbers)
    func numberErrors(_ rejection: JSONRejection) {
        check(rejection)
    }

    @Test("bad escapes, lone surrogates and raw control characters are refused", arguments: strings)
    func stringErrors(_ rejection: JSONRejection) {
        check(rejection)
    }

    @Test("bytes that are not UTF-8 are refused, naming the offset", arguments: utf8)
    func utf8Errors(_ rejection: JSONRejection) {
        check(rejection)
    }

    @Test("invalid UTF-8 after an escape is found too")
    func utf8AfterEscape() {
        let bytes = Array(#""\n"#.utf8) + [0xE2, 0x28, 0xA1, 0x22]
        let detail = "invalid UTF-8: the sequence starting with byte 0xE2 is truncated or malformed"
        check(JSONRejection(bytes: bytes, .invalidUTF8, 3, detail))
    }

    @Test("an object that repeats a key is refused, naming the key")
    func duplicateKeys() {
        let cases: [(String, Int, String)] = [
            (#"{"loss": 1, "loss": 2}"#, 12, "loss"),
            (#"{"a": {"x": 1, "y": 2, "x": 3}}"#, 23, "x"),
            // The same key written two ways is still the same key.
            (#"{"é": 1, "\u00e9": 2}"#, 10, "é"),
            (#"{"a\nb": 1, "a\u000ab": 2}"#, 12, #"a\nb"#),
        ]
        for (text, offset, shown) in cases {
            check(JSONRejection(text, .duplicateKey, offset, "duplicate key \"\(shown)\" in one object"))
        }
    }

    @Test("the same key in two different objects is no repeat")
    func sameKeyInSiblings() throws {
        let value = try JSONParser.parse(#"{"a": {"x": 1}, "b": {"x": 2}, "x": [{"x": 3}, {"x": 4}]}"#)
        #expect(value.objectValue?.count == 3)
    }

    @Test("a long repeated key is cut short in the message but whole in the error")
    func longDuplicateKey() {
        let key = String(repeating: "k", count: 300)
        do {
            _ = try JSONParser.parse("{\"\(key)\": 1, \"\(key)\": 2}")
            Issue.record("expected a duplicate key error")
        } catch {
            #expect(error.key == key)
            #expect(error.detail == "duplicate key \"\(String(repeating: "k", count: 64))…\" in one object")
        }
    }

    private func check(_ rejection: JSONRejection, sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            let value = try JSONParser.parse(rejection.bytes)
            Issue.record("parsed as \(value) instead of failing", sourceLocation: sourceLocation)
        } catch {
            #expect(error.code == rejection.code, sourceLocation: sourceLocation)
            #expect(error.description == rejection.message, sourceLocation: sourceLocation)
        }
    }
}

import ChorusCore
import Testing

@Suite("JSON writer")
struct JSONWriterTests {
    private func text(_ writer: JSONWriter) -> String {
        String(decoding: writer.bytes, as: UTF8.self)
    }

    @Test("a record written with the primitives is the compact JSON Python writes")
    func recordFromPrimitives() {
        var writer = JSONWriter()
        writer.beginObject()
        writer.appendKey("v")
        writer.appendInteger(1)
        writer.appendKey("kind")
        writer.appendString("log")
        writer.appendKey("ts")
        writer.appendDouble(1733241712.5)
        writer.appendKey("data")
        writer.beginObject()
        writer.appendKey("loss")
        writer.appendDouble(.nan)
        writer.appendKey("tags")
        writer.beginArray()
        writer.appendBool(true)
        writer.appendNull()
        writer.beginArray()
        writer.endArray()
        writer.beginObject()
        writer.endObject()
        writer.endArray()
        writer.endObject()
        writer.endObject()
        #expect(text(writer) == #"{"v":1,"kind":"log","ts":1733241712.5,"data":{"loss":NaN,"tags":[true,null,[],{}]}}"#)
    }

    @Test("the spaced style matches Python's default separators")
    func spacedSeparators() {
        let value: JSONValue = ["a": [1, 2.5, "x"], "b": [:], "c": [], "d": ["e": .null]]
        let bytes = JSONWriter.encode(value, separators: .spaced)
        #expect(String(decoding: bytes, as: UTF8.self) == #"{"a": [1, 2.5, "x"], "b": {}, "c": [], "d": {"e": null}}"#)
    }

    @Test(
        "strings are escaped as json.dumps escapes them, with raw or escaped non-ASCII",
        arguments: [
            ("plain", #""plain""#, #""plain""#),
            ("q\"b\\s/", #""q\"b\\s/""#, #""q\"b\\s/""#),
            ("\u{8}\u{C}\n\r\t", #""\b\f\n\r\t""#, #""\b\f\n\r\t""#),
            ("\u{0}\u{1}\u{1F}", #""\u0000\u0001\u001f""#, #""\u0000\u0001\u001f""#),
            ("\u{7F}", "\"\u{7F}\"", #""\u007f""#),
            ("é中", "\"é中\"", #""\u00e9\u4e2d""#),
            ("😀", "\"😀\"", #""\ud83d\ude00""#),
            ("\u{2028}", "\"\u{2028}\"", #""\u2028""#),
            ("", #""""#, #""""#),
        ]
    )
    func stringEscapes(input: String, raw: String, ascii: String) throws {
        var writer = JSONWriter()
        writer.appendString(input)
        #expect(text(writer) == raw)
        var asciiWriter = JSONWriter(escapesNonASCII: true)
        asciiWriter.appendString(input)
        #expect(text(asciiWriter) == ascii)
        #expect(try JSONParser.parse(writer.bytes) == .string(input))
        #expect(try JSONParser.parse(asciiWriter.bytes) == .string(input))
    }

    @Test("reset empties the buffer and forgets the last value")
    func reset() {
        var writer = JSONWriter()
        writer.appendInteger(1)
        writer.reset()
        writer.appendInteger(2)
        #expect(text(writer) == "2")
    }

    @Test("a whole value round-trips through the writer and the parser")
    func valueRoundTrip() throws {
        let value: JSONValue = [
            "n": .null, "t": true, "i": .integer(.min), "d": -0.0, "inf": .double(-.infinity),
            "s": "a\u{0}\"é😀", "l": [[], [[:]], 1e300], "o": ["_type": "histogram", "bins": [0.5]],
        ]
        for separators in [JSONWriter.Separators.compact, .spaced] {
            for escapes in [false, true] {
                let bytes = JSONWriter.encode(value, separators: separators, escapesNonASCII: escapes)
                #expect(try JSONParser.parse(bytes) == value)
            }
        }
        #expect(value.description == JSONWriter.compactText(value))
    }
}

import ChorusCore
import Testing

@Suite("JSON parser limits")
struct JSONLimitsTests {
    private func failure(_ text: String, limits: JSONLimits = JSONLimits()) -> JSONParseError? {
        do {
            _ = try JSONParser.parse(text, limits: limits)
            return nil
        } catch {
            return error
        }
    }

    @Test("nesting up to the depth limit is accepted, one level more is refused before descending")
    func depthLimit() throws {
        for opener in ["[", "{\"k\":"] {
            let closer = opener == "[" ? "]" : "}"
            let deepest = String(repeating: opener, count: 64) + "1" + String(repeating: closer, count: 64)
            #expect(throws: Never.self) { try JSONParser.parse(deepest) }

            let tooDeep = String(repeating: opener, count: 65) + "1" + String(repeating: closer, count: 65)
            let error = try #require(failure(tooDeep))
            #expect(error.code == .tooDeep)
            #expect(error.offset == 64 * opener.utf8.count)
            #expect(error.detail == "arrays and objects nest deeper than the limit of 64 levels")
        }
    }

    @Test("a custom depth limit applies, and depths past the supported one are capped")
    func customDepth() throws {
        #expect(failure("[[1]]", limits: JSONLimits(maxDepth: 1))?.code == .tooDeep)
        #expect(failure("1", limits: JSONLimits(maxDepth: 0)) == nil)
        #expect(failure("[]", limits: JSONLimits(maxDepth: 0))?.code == .tooDeep)

        let huge = JSONLimits(maxDepth: .max)
        let supported = JSONLimits.supportedDepth
        let atCap = String(repeating: "[", count: supported) + String(repeating: "]", count: supported)
        #expect(failure(atCap, limits: huge) == nil)
        let pastCap = "[" + atCap + "]"
        let error = try #require(failure(pastCap, limits: huge))
        #expect(error.code == .tooDeep)
        #expect(error.offset == supported)
    }

    @Test("a text longer than the byte limit is refused before it is read")
    func byteLimit() throws {
        let limits = JSONLimits(maxBytes: 10)
        #expect(failure("[1,2,3,4]", limits: limits) == nil)
        let error = try #require(failure("[1,2,3,4,5]", limits: limits))
        #expect(error.code == .tooLarge)
        #expect(
            error.description == "invalid JSON at byte 10: the text is 11 bytes long, more than the limit of 10 bytes")

        let megabyte = "\"" + String(repeating: "x", count: (1 << 20) - 2) + "\""
        #expect(failure(megabyte) == nil)
        #expect(failure(megabyte + " ")?.code == .tooLarge)
    }

    @Test("strings longer than the string limit are refused, counting decoded bytes")
    func stringLimit() throws {
        let limits = JSONLimits(maxStringBytes: 4)
        #expect(failure(#"["abcd", {"wxyz": "\u00e9\u00e9"}]"#, limits: limits) == nil)
        let plain = try #require(failure(#"["abcde"]"#, limits: limits))
        #expect(plain.code == .stringTooLong)
        #expect(plain.description == "invalid JSON at byte 1: string of 5 bytes is longer than the limit of 4 bytes")
        // Three escapes of two UTF-8 bytes each: 6 decoded bytes, though 18 in the text.
        #expect(failure(#"{"a": "\u00e9\u00e9\u00e9"}"#, limits: limits)?.code == .stringTooLong)
        #expect(failure(#"{"abcde": 1}"#, limits: limits)?.offset == 1)
    }
}

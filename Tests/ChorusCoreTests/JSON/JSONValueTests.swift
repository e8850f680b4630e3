import ChorusCore
import Testing

@Suite("JSON values and objects")
struct JSONValueTests {
    @Test("values are equal exactly when the writer writes them the same way")
    func equalityMeansSameText() {
        #expect(JSONValue.double(.nan) == .double(-.nan))
        #expect(JSONValue.double(0.0) != .double(-0.0))
        #expect(JSONValue.integer(1) != .double(1.0))
        #expect(JSONValue.string("\u{E9}") != .string("e\u{301}"))
        #expect(JSONValue.string("é") == .string("\u{E9}"))
        #expect((["a": 1, "b": 2] as JSONValue) != ["b": 2, "a": 1])
        #expect(([1, [2, ["x": .null]]] as JSONValue) == [1, [2, ["x": .null]]])
    }

    @Test("hashing agrees with equality, one hash for every NaN")
    func hashing() {
        let values: Set<JSONValue> = [
            .double(.nan), .double(-.nan), .double(0.0), .double(-0.0), .integer(0),
            .string("\u{E9}"), .string("e\u{301}"), ["k": .double(.nan)], ["k": .double(.nan)],
        ]
        #expect(values.count == 7)
    }

    @Test("an object keeps document order and can be edited by key")
    func objectEditing() {
        var object: JSONObject = ["b": 1, "a": 2]
        #expect(object.keys == ["b", "a"])
        object["c"] = 3
        object["b"] = 10
        #expect(object.keys == ["b", "a", "c"])
        #expect(object["b"] == 10)
        object["a"] = nil
        #expect(object.keys == ["b", "c"])
        #expect(object.count == 2)
        #expect(object.map(\.key) == ["b", "c"])
        object.append(key: "z", value: "last")
        #expect(object.description == #"{"b":10,"c":3,"z":"last"}"#)
    }

    @Test("lookups compare keys by their bytes")
    func byteKeys() {
        let object: JSONObject = ["\u{E9}": 1]
        #expect(object["\u{E9}"] == 1)
        #expect(object["e\u{301}"] == nil)
    }

    @Test("the accessors return only their own case")
    func accessors() {
        #expect(JSONValue.integer(3).integerValue == 3)
        #expect(JSONValue.integer(3).doubleValue == nil)
        #expect(JSONValue.double(3).doubleValue == 3)
        #expect(JSONValue.double(3).integerValue == nil)
        #expect(JSONValue.string("s").stringValue == "s")
        #expect(JSONValue.bool(false).boolValue == false)
        #expect(JSONValue.null.isNull)
        #expect(JSONValue.array([1]).arrayValue == [1])
        #expect(JSONValue.object(["k": 1]).objectValue?["k"] == 1)
    }
}

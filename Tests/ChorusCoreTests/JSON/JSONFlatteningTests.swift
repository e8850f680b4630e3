import ChorusCore
import Testing

@Suite("Flattening a message's data")
struct JSONFlatteningTests {
    private func flatten(_ data: JSONObject, limits: FlattenLimits = FlattenLimits()) throws -> [String: JSONValue] {
        Dictionary(uniqueKeysWithValues: try flattenMetrics(data, limits: limits).map { ($0.key, $0.value) })
    }

    private func failure(_ data: JSONObject, limits: FlattenLimits = FlattenLimits()) -> FlattenError? {
        do {
            _ = try flattenMetrics(data, limits: limits)
            return nil
        } catch {
            return error
        }
    }

    @Test("nested objects flatten with '/', in document order")
    func nesting() throws {
        let data: JSONObject = ["loss": 0.5, "train": ["acc": 0.9, "opt": ["lr": 1e-4]], "step_time": 1]
        let entries = try flattenMetrics(data)
        #expect(entries.map(\.key) == ["loss", "train/acc", "train/opt/lr", "step_time"])
        #expect(entries.map(\.value) == [0.5, 0.9, 1e-4, 1])
    }

    @Test("objects with a _type field, lists, strings, booleans and null are kept whole")
    func keptValues() throws {
        let histogram: JSONValue = ["_type": "histogram", "bins": [0, 1], "values": [3]]
        let data: JSONObject = [
            "media": ["hist": histogram], "list": [1, ["x": 2]], "s": "text", "b": false, "n": .null,
        ]
        let flat = try flatten(data)
        #expect(flat == ["media/hist": histogram, "list": [1, ["x": 2]], "s": "text", "b": false, "n": .null])
    }

    @Test("an empty nested object flattens to nothing, and empty data to no entries")
    func emptyObjects() throws {
        #expect(try flattenMetrics(["a": [:], "b": ["c": [:]]]).isEmpty)
        #expect(try flattenMetrics([:]).isEmpty)
        #expect(try flatten(["a": [:], "x": 1]) == ["x": 1])
    }

    @Test(
        "two entries that flatten to the same key are refused, naming it",
        arguments: [
            (["a/b": 1, "a": ["b": 2]] as JSONObject, "a/b"),
            (["a": ["b": 2], "a/b": 1] as JSONObject, "a/b"),
            (["x": ["y/z": 1, "y": ["z": 2]]] as JSONObject, "x/y/z"),
            (["\u{E9}": 1, "e\u{301}": 2] as JSONObject, "e\u{301}"),
        ]
    )
    func collisions(data: JSONObject, key: String) throws {
        let error = try #require(failure(data))
        #expect(error.code == .duplicateKey)
        #expect(error.key == key)
        #expect(error.description == "two entries of data flatten to the same key \"\(key)\"")
    }

    @Test("collisions are found among many values too")
    func collisionAmongMany() throws {
        var data = JSONObject((0..<5_000).map { (key: "m/\($0)", value: JSONValue.integer(Int64($0))) })
        data.append(key: "m", value: ["4999": 1])
        let error = try #require(failure(data))
        #expect(error.key == "m/4999")
    }

    @Test("the value limit counts values after flattening")
    func valueLimit() throws {
        let full = JSONObject((0..<10_000).map { (key: "k\($0)", value: JSONValue.integer(1)) })
        #expect(try flattenMetrics(full).count == 10_000)
        let nested = JSONObject([(key: "outer", value: .object(full)), (key: "one", value: 1)])
        let error = try #require(failure(nested))
        #expect(error.code == .tooManyValues)
        #expect(error.description == "data holds more than the limit of 10000 values after flattening")
    }

    @Test("the key limit counts UTF-8 bytes of the flattened key, and the message cuts the key short")
    func keyLimit() throws {
        let name = String(repeating: "é", count: 127)  // 254 bytes
        #expect(failure(["a": [name: 1]]) == nil)  // "a/" + 254 = 256 bytes
        let error = try #require(failure(["ab": [name: 1]]))
        #expect(error.code == .keyTooLong)
        #expect(error.key == "ab/" + name)
        let shown = "ab/" + String(repeating: "é", count: 30)  // 63 bytes: the next "é" would pass 64
        #expect(error.description == "key \"\(shown)…\" is 257 bytes long, more than the limit of 256 bytes of UTF-8")
    }

    @Test("nesting deeper than the limit is refused, kept values included")
    func depthLimit() throws {
        func nested(_ levels: Int, leaf: JSONValue) -> JSONObject {
            var object: JSONObject = ["x": leaf]
            for _ in 1..<levels {
                object = ["n": .object(object)]
            }
            return object
        }
        #expect(failure(nested(32, leaf: 1)) == nil)
        let error = try #require(failure(nested(33, leaf: 1)))
        #expect(error.code == .tooDeep)
        #expect(error.key == Array(repeating: "n", count: 32).joined(separator: "/"))
        #expect(error.description.hasPrefix("data nests deeper than the limit of 32 levels at key \"n/n/n/"))

        #expect(failure(nested(31, leaf: [1])) == nil)
        #expect(failure(nested(32, leaf: [1]))?.code == .tooDeep)
        #expect(failure(nested(32, leaf: ["_type": "x"]))?.code == .tooDeep)
        #expect(failure(nested(4, leaf: 1), limits: FlattenLimits(maxDepth: 3))?.code == .tooDeep)
    }
}

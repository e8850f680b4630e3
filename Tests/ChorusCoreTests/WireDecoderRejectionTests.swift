import Testing

@testable import ChorusCore

/// A message the decoder must refuse, the code it must give, and text the message must hold.
struct WireRejection: Sendable, CustomTestStringConvertible {
    let name: String
    let text: String
    let code: WireError.Code
    let naming: String

    init(_ name: String, _ text: String, _ code: WireError.Code, naming: String) {
        self.name = name
        self.text = text
        self.code = code
        self.naming = naming
    }

    var testDescription: String { name }
}

/// A message made of `base` with `changes` applied: a new value replaces a field or is added,
/// `nil` leaves the field out. Values are JSON text.
private func messageText(_ base: [(String, String)], _ changes: [String: String?]) -> String {
    var fields = base.compactMap { name, value -> String? in
        let replaced = changes.keys.contains(name) ? changes[name]! : value
        return replaced.map { "\"\(name)\": \($0)" }
    }
    for (name, value) in changes.sorted(by: { $0.key < $1.key }) where !base.contains(where: { $0.0 == name }) {
        if let value { fields.append("\"\(name)\": \(value)") }
    }
    return "{" + fields.joined(separator: ", ") + "}"
}

private let protocolHeader = [("v", "1"), ("run", #""job-42""#), ("rank", "0"), ("inc", #""5f0c1e9a""#)]

/// The log record of protocol.md with `changes`.
private func logText(_ changes: [String: String?] = [:]) -> String {
    let fields = [
        ("kind", #""log""#), ("attempt", "0"), ("seq", "17"), ("step", "1200"), ("ts", "1733241712.5"),
        ("data", #"{"loss": 0.31}"#),
    ]
    return messageText(protocolHeader + fields, changes)
}

/// The hello of protocol.md with `changes`.
private func helloText(_ changes: [String: String?] = [:]) -> String {
    let fields = [("kind", #""hello""#), ("world_size", "2"), ("start_time", "1733241600.25")]
    return messageText(protocolHeader + fields, changes)
}

@Suite("WireDecoder: what it rejects, with a code and a message naming the field")
struct WireDecoderRejectionTests {
    static let header = #""v": 1, "run": "job-42", "rank": 0, "inc": "5f0c1e9a""#

    static let cases: [WireRejection] = [
        WireRejection("missing v", logText(["v": nil]), .missingField, naming: #""v""#),
        WireRejection("v is a string", logText(["v": #""1""#]), .unsupportedVersion, naming: #"version "1""#),
        WireRejection("v is 1.5", logText(["v": "1.5"]), .unsupportedVersion, naming: "version 1.5"),
        WireRejection("missing kind", logText(["kind": nil]), .missingField, naming: #""kind""#),
        WireRejection("unknown kind", logText(["kind": #""metrics""#]), .unknownKind, naming: #""metrics""#),
        WireRejection("missing run", logText(["run": nil]), .missingField, naming: #""run""#),
        WireRejection("missing seq", logText(["seq": nil]), .missingField, naming: #""seq""#),
        WireRejection("missing step", logText(["step": nil]), .missingField, naming: #""step""#),
        WireRejection("missing ts", logText(["ts": nil]), .missingField, naming: #""ts""#),
        WireRejection("missing data", logText(["data": nil]), .missingField, naming: #""data""#),
        WireRejection("seq 0", logText(["seq": "0"]), .invalidField, naming: #""seq""#),
        WireRejection("negative seq", logText(["seq": "-3"]), .invalidField, naming: #""seq""#),
        WireRejection("seq of 2^64", logText(["seq": "18446744073709551616"]), .invalidField, naming: #""seq""#),
        WireRejection("negative step", logText(["step": "-1"]), .invalidField, naming: #""step""#),
        WireRejection("fractional step", logText(["step": "1.5"]), .invalidField, naming: #""step""#),
        WireRejection("negative attempt", logText(["attempt": "-1"]), .invalidField, naming: #""attempt""#),
        WireRejection("rank too large", logText(["rank": "1048576"]), .invalidField, naming: #""rank""#),
        WireRejection("negative rank", logText(["rank": "-1"]), .invalidField, naming: #""rank""#),
        WireRejection("run id with a space", logText(["run": #""job 42""#]), .invalidField, naming: #""run""#),
        WireRejection("run id with a slash", logText(["run": #""a/b""#]), .invalidField, naming: #""run""#),
        WireRejection("empty run id", logText(["run": #""""#]), .invalidField, naming: #""run""#),
        WireRejection(
            "run id of 129 characters",
            logText(["run": "\"" + String(repeating: "a", count: 129) + "\""]),
            .invalidField,
            naming: #""run""#
        ),
        WireRejection("run id that is a number", logText(["run": "42"]), .invalidField, naming: #""run""#),
        WireRejection(
            "incarnation id with a non-ASCII letter", logText(["inc": #""caf\u00e9""#]), .invalidField,
            naming: #""inc""#),
        WireRejection("data is a list", logText(["data": "[1, 2]"]), .invalidField, naming: #""data""#),
        WireRejection("data is a number", logText(["data": "3"]), .invalidField, naming: #""data""#),
        WireRejection(
            "two entries flatten to one key",
            logText(["data": #"{"a/b": 1, "a": {"b": 2}}"#]),
            .invalidData,
            naming: #""a/b""#
        ),
        WireRejection(
            "an object repeats a key", logText(["data": #"{"x": 1, "x": 2}"#]), .malformedJSON, naming: #""x""#),
        WireRejection(
            "a key longer than 256 bytes",
            logText(["data": "{\"" + String(repeating: "k", count: 257) + "\": 1}"]),
            .invalidData,
            naming: "256"
        ),
        WireRejection("ts is a string", logText(["ts": #""now""#]), .invalidField, naming: #""ts""#),
        WireRejection("ts is NaN", logText(["ts": "NaN"]), .invalidField, naming: #""ts""#),
        WireRejection("world_size 0", helloText(["world_size": "0"]), .invalidField, naming: #""world_size""#),
        WireRejection(
            "world_size too large", helloText(["world_size": "1048577"]), .invalidField, naming: #""world_size""#),
        WireRejection(
            "hello without world_size", helloText(["world_size": nil]), .missingField, naming: #""world_size""#),
        WireRejection(
            "hello without start_time", helloText(["start_time": nil]), .missingField, naming: #""start_time""#),
        WireRejection(
            "negative resume_step", helloText(["resume_step": "-5"]), .invalidField, naming: #""resume_step""#),
        WireRejection(
            "end without last_seq", #"{\#(header), "kind": "end", "ts": 1}"#, .missingField, naming: #""last_seq""#),
        WireRejection(
            "define with an unknown reduction",
            #"{\#(header), "kind": "define", "metric": "loss", "reduce": "median"}"#,
            .invalidField,
            naming: #""reduce""#
        ),
        WireRejection(
            "define with an unknown goal",
            #"{\#(header), "kind": "define", "metric": "loss", "goal": "up"}"#,
            .invalidField,
            naming: #""goal""#
        ),
        WireRejection("no metric", #"{\#(header), "kind": "define"}"#, .missingField, naming: #""metric""#),
        WireRejection(
            "summary data is a string", #"{\#(header), "kind": "summary", "data": "x"}"#, .invalidField,
            naming: #""data""#),
        WireRejection("a list, not an object", "[1, 2]", .malformedJSON, naming: "object"),
        WireRejection("truncated JSON", #"{"v": 1, "kind": "log""#, .malformedJSON, naming: "end of input"),
    ]

    @Test("each rejection has its code and a message naming the field", arguments: cases)
    func rejection(_ rejection: WireRejection) throws {
        let error = try #require(wireError(rejection.text), "decoded: \(rejection.text)")
        #expect(error.code == rejection.code, "\(error)")
        #expect(error.message.contains(rejection.naming), "\(error)")
    }

    @Test("each accepted variant of the tables' messages really decodes")
    func baselinesDecode() throws {
        _ = try decodeWire(logText())
        _ = try decodeWire(helloText())
        _ = try decodeWire(helloText(["resume_step": "5"]))
    }

    @Test("an unsupported version says which version this collector speaks")
    func unsupportedVersion() throws {
        let error = try #require(wireError(logText(["v": "2"])))
        #expect(error.code == .unsupportedVersion)
        #expect(error.message == "unsupported protocol version 2 (this collector speaks 1)")
        #expect(error.description == "unsupported-version: " + error.message)
    }

    @Test("a missing version is a missing field that still says which version to send")
    func missingVersion() throws {
        let error = try #require(wireError(logText(["v": nil])))
        #expect(error.code == .missingField)
        #expect(error.message.contains("speaks 1"))
    }

    @Test(
        "the duplicate flattened key is named in full",
        arguments: [
            #"{"a/b": 1, "a": {"b": 2}}"#,
            #"{"a": {"b": 2}, "a/b": 1}"#,
        ])
    func duplicateKey(data: String) throws {
        let error = try #require(wireError(logText(["data": data])))
        #expect(error.code == .invalidData)
        #expect(error.message == #"field "data": two entries of data flatten to the same key "a/b""#)
    }

    @Test("10,000 values are accepted and 10,001 are too many")
    func tooManyValues() throws {
        func data(_ count: Int) -> String {
            "{" + (0..<count).map { "\"k\($0)\": \($0)" }.joined(separator: ", ") + "}"
        }
        _ = try decodeWire(logText(["data": data(10_000)]))
        let error = try #require(wireError(logText(["data": data(10_001)])))
        #expect(error.code == .invalidData)
        #expect(error.message.contains(#""data""#))
        #expect(error.message.contains("10000"))
    }

    @Test("data nested 32 levels deep is accepted and 33 levels are rejected")
    func nestingDepth() throws {
        func data(_ levels: Int) -> String {
            String(repeating: #"{"a": "#, count: levels - 1) + "{\"x\": 1}" + String(repeating: "}", count: levels - 1)
        }
        _ = try decodeWire(logText(["data": data(32)]))
        let error = try #require(wireError(logText(["data": data(33)])))
        #expect(error.code == .invalidData, "\(error)")
        #expect(error.message.contains(#""data""#), "\(error)")
    }

    @Test("a rank of 1,048,575 and a world of 1,048,576 are the largest accepted")
    func largestRank() throws {
        #expect(throws: Never.self) { try decodeWire(logText(["rank": "1048575"])) }
        #expect(throws: Never.self) { try decodeWire(helloText(["world_size": "1048576"])) }
    }
}

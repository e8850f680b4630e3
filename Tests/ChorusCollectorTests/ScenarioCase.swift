import ChorusCore
import Foundation

/// One scenario from `shared/cases` (copied into `Cases/`): a world, an input in arrival
/// order, and the outcome a correct collector must produce (see `Cases/README.md`).
struct ScenarioCase: CustomStringConvertible, Sendable {
    /// One entry of the input.
    enum Entry: Sendable {
        /// A raw wire message, through the protocol directly.
        case message(WireInput)
        /// A call of the client library's `log`.
        case log(rank: Int32, data: JSONObject, step: Int64?, commit: Bool?)
        /// The rank finishes cleanly.
        case end(rank: Int32)
        /// The rank dies: nothing more from it.
        case vanish(rank: Int32)
        /// The rank's process exits right after its last send.
        case exit(rank: Int32)
        /// An expectation that holds at this point.
        case check(JSONObject)

        var isEvent: Bool {
            switch self {
            case .message, .log: false
            default: true
            }
        }
    }

    /// A wire message as a case writes it, with its sequence number already assigned.
    struct WireInput: Sendable {
        var rank: Int32
        var attempt: Int64
        var sequenceNumber: Int64
        var step: Int64
        var timestamp: Double?
        var data: JSONValue
    }

    let id: String
    let worldSize: Int32
    let maxOpenSteps: Int?
    let rankTimeout: Double?
    let usesProcesses: Bool
    let input: [Entry]
    let expect: JSONObject

    var description: String { id }

    /// Whether every input is a wire message or an event, so that shuffling it is meaningful.
    var isMessageCase: Bool {
        input.allSatisfy { if case .log = $0 { false } else { true } } && !usesProcesses
    }

    /// Every (rank, attempt) that sends wire messages: one client incarnation each.
    var incarnations: [(rank: Int32, attempt: Int64)] {
        var seen: [String: (Int32, Int64)] = [:]
        var order: [String] = []
        for case .message(let message) in input {
            let key = "\(message.rank)/\(message.attempt)"
            if seen[key] == nil {
                seen[key] = (message.rank, message.attempt)
                order.append(key)
            }
        }
        return order.map { seen[$0]! }
    }

    /// Every case in the test bundle's `Cases` folder, sorted by id.
    static func all() throws -> [ScenarioCase] {
        guard let folder = Bundle.module.url(forResource: "Cases", withExtension: nil) else {
            throw ScenarioError("the Cases folder is missing from the test bundle")
        }
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".json") }
        return try files.sorted().map { try ScenarioCase(path: folder.appendingPathComponent($0).path) }
    }

    /// The case with `id`.
    static func named(_ id: String) throws -> ScenarioCase {
        guard let found = try all().first(where: { $0.id == id }) else { throw ScenarioError("no case \(id)") }
        return found
    }

    init(path: String) throws {
        guard let bytes = FileManager.default.contents(atPath: path),
            case .object(let root) = try JSONParser.parse(Array(bytes))
        else { throw ScenarioError("\(path) is not a JSON object") }
        id = root["id"]?.stringValue ?? path
        worldSize = Int32(root["world_size"]?.integerValue ?? 1)
        let config = root["config"]?.objectValue
        maxOpenSteps = config?["max_open_steps"]?.integerValue.map(Int.init)
        rankTimeout = config?["rank_timeout_s"].flatMap(Self.number)
        usesProcesses = root["process"]?.boolValue ?? false
        expect = root["expect"]?.objectValue ?? JSONObject()
        var nextSequence: [String: Int64] = [:]
        var entries: [Entry] = []
        func wire(rank: Int32, step: Int64, data: JSONValue, object: JSONObject?) {
            let attempt = object?["attempt"]?.integerValue ?? 1
            let key = "\(rank)/\(attempt)"
            let sequence = object?["seq"]?.integerValue ?? (nextSequence[key, default: 0] + 1)
            nextSequence[key] = max(nextSequence[key, default: 0], sequence)
            let timestamp = object?["ts"].flatMap(Self.number)
            entries.append(
                .message(
                    WireInput(
                        rank: rank, attempt: attempt, sequenceNumber: sequence, step: step,
                        timestamp: timestamp, data: data)))
        }
        for case .object(let entry) in root["input"]?.arrayValue ?? [] {
            let rank = Int32(entry["rank"]?.integerValue ?? 0)
            if let event = entry["event"]?.stringValue {
                switch event {
                case "end": entries.append(.end(rank: rank))
                case "vanish": entries.append(.vanish(rank: rank))
                case "exit": entries.append(.exit(rank: rank))
                case "check": entries.append(.check(entry["expect"]?.objectValue ?? JSONObject()))
                default: throw ScenarioError("\(path): unknown event \(event)")
                }
            } else if let log = entry["log"]?.objectValue {
                entries.append(
                    .log(
                        rank: rank, data: log["data"]?.objectValue ?? JSONObject(),
                        step: log["step"]?.integerValue, commit: log["commit"]?.boolValue))
            } else if let generate = entry["generate"]?.objectValue {
                let ranks = (generate["ranks"]?.arrayValue ?? []).compactMap { $0.integerValue.map(Int32.init) }
                let bounds = (generate["steps"]?.arrayValue ?? []).compactMap(\.integerValue)
                guard bounds.count == 2 else { throw ScenarioError("\(path): generate needs steps [first, last]") }
                for step in bounds[0]...bounds[1] {
                    for rank in ranks {
                        wire(rank: rank, step: step, data: generate["data"] ?? .object([:]), object: nil)
                    }
                }
            } else {
                wire(
                    rank: rank, step: entry["step"]?.integerValue ?? 0, data: entry["data"] ?? .object([:]),
                    object: entry)
            }
        }
        input = entries
    }

    /// The same case with its messages shuffled among the places messages hold; events stay.
    func shuffled<Generator: RandomNumberGenerator>(using generator: inout Generator) -> [Entry] {
        let places = input.indices.filter { !input[$0].isEvent }
        let messages = places.map { input[$0] }.shuffled(using: &generator)
        var result = input
        for (place, message) in zip(places, messages) { result[place] = message }
        return result
    }

    private static func number(_ value: JSONValue) -> Double? {
        value.doubleValue ?? value.integerValue.map(Double.init)
    }
}

/// A case that cannot be run as written.
struct ScenarioError: Error, CustomStringConvertible {
    var description: String

    init(_ description: String) {
        self.description = description
    }
}

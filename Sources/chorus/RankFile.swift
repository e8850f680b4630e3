import ChorusCore
import Foundation

/// One rank's logged steps read from a file, in the formats `chorus replay` takes:
///
/// - Chorus rank files: one `{"rank": 0, "step": 100, "time": 1641165094, "data": {...}}`
///   per line (`rank` and `time` optional);
/// - wandb's `wandb-history.jsonl`: one `{"_step": 0, "_timestamp": …, "loss": …}` per
///   line, every key not starting with `_` being a value.
struct RankFile {
    /// One logged line.
    struct Line {
        var step: Int64
        var timestamp: Double?
        var values: [MetricEntry]
    }

    /// The file's path.
    let path: String
    /// The rank the file names, if it does.
    let rank: Int32?
    /// Its lines in order.
    var lines: [Line]

    /// Reads and checks the whole file.
    /// - Throws: ``ReplayError`` naming the file, the line and what is wrong with it.
    init(path: String) throws {
        self.path = path
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ReplayError("cannot read \(path)")
        }
        var lines: [Line] = []
        var rank: Int32?
        var number = 0
        for text in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            number += 1
            guard text.contains(where: { $0 != UInt8(ascii: " ") && $0 != UInt8(ascii: "\r") }) else { continue }
            let value: JSONValue
            do {
                value = try JSONParser.parse(Array(text))
            } catch {
                throw ReplayError("\(path):\(number): \(error)")
            }
            guard case .object(let object) = value else {
                throw ReplayError("\(path):\(number): a line must be a JSON object")
            }
            let line = try Self.line(object, at: "\(path):\(number)")
            if rank == nil, case .integer(let logged)? = object["rank"], let narrow = Int32(exactly: logged) {
                rank = narrow
            }
            lines.append(line)
        }
        self.rank = rank
        self.lines = lines
    }

    private static func line(_ object: JSONObject, at place: String) throws -> Line {
        if let step = object["step"], let data = object["data"] {
            guard case .integer(let step) = step, step >= 0 else {
                throw ReplayError("\(place): \"step\" must be a whole number of at least 0")
            }
            guard case .object(let values) = data else {
                throw ReplayError("\(place): \"data\" must be an object")
            }
            return Line(step: step, timestamp: object["time"]?.numberValue, values: try flatten(values, at: place))
        }
        if let step = object["_step"] {
            guard case .integer(let step) = step, step >= 0 else {
                throw ReplayError("\(place): \"_step\" must be a whole number of at least 0")
            }
            let values = JSONObject(object.filter { !$0.key.hasPrefix("_") })
            return Line(
                step: step, timestamp: object["_timestamp"]?.numberValue, values: try flatten(values, at: place))
        }
        throw ReplayError(
            "\(place): expected a Chorus line {\"step\", \"data\"} or a wandb history line {\"_step\", …}")
    }

    private static func flatten(_ values: JSONObject, at place: String) throws -> [MetricEntry] {
        do {
            return try flattenMetrics(values, limits: FlattenLimits()).map {
                MetricEntry($0.key, MetricValue(json: $0.value))
            }
        } catch {
            throw ReplayError("\(place): \(error)")
        }
    }
}

/// A replay file that cannot be used, with where and why.
struct ReplayError: Error, CustomStringConvertible {
    var message: String

    init(_ message: String) {
        self.message = message
    }

    var description: String { message }
}

extension JSONValue {
    /// The value as a double if it is a number of either kind.
    var numberValue: Double? {
        switch self {
        case .integer(let integer): Double(integer)
        case .double(let double): double
        default: nil
        }
    }
}

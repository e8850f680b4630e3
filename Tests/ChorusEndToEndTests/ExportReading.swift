import ChorusCore
import Foundation

/// Reading back what `chorus export` wrote, with ChorusCore's own parser (it takes `NaN`).
enum ExportReading {
    /// Limits loose enough for a whole exported table.
    static let limits = JSONLimits(maxDepth: 64, maxBytes: 1 << 30, maxStringBytes: 1 << 20)

    /// Parses one JSON document.
    static func document(_ text: String, _ what: String) throws -> JSONValue {
        do {
            return try JSONParser.parse(text, limits: limits)
        } catch {
            throw ProcessFailure("\(what) is not JSON: \(error)")
        }
    }

    /// Parses one JSON object.
    static func object(_ text: String, _ what: String) throws -> [String: JSONValue] {
        guard let object = try document(text, what).objectValue else {
            throw ProcessFailure("\(what) is not a JSON object: \(text.prefix(200))")
        }
        return dictionary(object)
    }

    /// Parses JSON Lines, each line an object.
    static func lines(_ text: String, _ what: String) throws -> [[String: JSONValue]] {
        try text.split(separator: "\n", omittingEmptySubsequences: true).enumerated().map { number, line in
            try object(String(line), "\(what) line \(number + 1)")
        }
    }

    /// Parses a JSON array of objects.
    static func array(_ text: String, _ what: String) throws -> [[String: JSONValue]] {
        guard let elements = try document(text, what).arrayValue else {
            throw ProcessFailure("\(what) is not a JSON array")
        }
        return try elements.enumerated().map { index, element in
            guard let object = element.objectValue else { throw ProcessFailure("\(what)[\(index)] is not an object") }
            return dictionary(object)
        }
    }

    /// An object's entries by key.
    static func dictionary(_ object: JSONObject) -> [String: JSONValue] {
        Dictionary(object.entries.map { ($0.key, $0.value) }, uniquingKeysWith: { first, _ in first })
    }

    /// A row's metric values: every entry but the `_`-prefixed bookkeeping ones.
    static func metrics(_ row: [String: JSONValue]) -> [String: JSONValue] {
        row.filter { !$0.key.hasPrefix("_") }
    }

    /// Splits RFC 4180 CSV into records of fields (quoted fields may hold commas, quotes, newlines).
    static func csv(_ text: String) -> [[String]] {
        var records: [[String]] = []
        var record: [String] = []
        var field = ""
        var quoted = false
        var characters = Array(text)[...]
        while let character = characters.popFirst() {
            if quoted {
                if character == "\"" {
                    if characters.first == "\"" {
                        field.append("\"")
                        characters.removeFirst()
                    } else {
                        quoted = false
                    }
                } else {
                    field.append(character)
                }
                continue
            }
            switch character {
            case "\"": quoted = true
            case ",":
                record.append(field)
                field = ""
            case "\n", "\r\n":
                record.append(field)
                records.append(record)
                record = []
                field = ""
            default: field.append(character)
            }
        }
        if !field.isEmpty || !record.isEmpty { records.append(record + [field]) }
        return records
    }
}

/// Where two long sequences first differ, described briefly (a failed `==` on thousands of
/// rows would print them all), or nil if they are equal.
func firstMismatch<Element: Equatable>(_ actual: [Element], _ expected: [Element]) -> String? {
    if let index = (0..<min(actual.count, expected.count)).first(where: { actual[$0] != expected[$0] }) {
        return "first difference at \(index): got \(actual[index]), expected \(expected[index])"
    }
    return actual.count == expected.count ? nil : "\(actual.count) items, expected \(expected.count)"
}

/// Comparing exported numbers with expected ones.
enum Numbers {
    /// The value as a double, if it is a number of either kind.
    static func double(_ value: JSONValue?) -> Double? {
        switch value {
        case .integer(let integer)?: Double(integer)
        case .double(let double)?: double
        default: nil
        }
    }

    /// Whether two JSON values agree: numbers of either kind within `tolerance` relative (an
    /// integer equals a double of the same value; NaN equals NaN), anything else exactly.
    static func agree(_ actual: JSONValue?, _ expected: JSONValue?, tolerance: Double = 1e-9) -> Bool {
        guard let expectedNumber = double(expected) else { return actual == expected }
        guard let actualNumber = double(actual) else { return false }
        if expectedNumber.isNaN || actualNumber.isNaN { return expectedNumber.isNaN && actualNumber.isNaN }
        if expectedNumber == actualNumber { return true }
        let scale = max(abs(expectedNumber), abs(actualNumber))
        return scale.isFinite && abs(expectedNumber - actualNumber) <= tolerance * scale
    }

    /// The first field of `fields` where `actual` and `expected` do not agree, described, or nil.
    static func firstDifference(
        _ actual: [String: JSONValue],
        _ expected: [String: JSONValue],
        fields: [String],
        tolerance: Double = 1e-9,
        at place: String
    ) -> String? {
        for field in fields where !agree(actual[field], expected[field], tolerance: tolerance) {
            let shown = actual[field].map(JSONWriter.compactText) ?? "absent"
            let wanted = expected[field].map(JSONWriter.compactText) ?? "absent"
            return "\(place) \(field): got \(shown), expected \(wanted)"
        }
        return nil
    }
}

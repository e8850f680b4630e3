/// Builds a page of Prometheus's text exposition format, version 0.0.4: each metric family's
/// `# HELP` and `# TYPE` lines, then its samples, with label values and help text escaped.
struct PrometheusText {
    /// What a family's samples mean to Prometheus.
    enum MetricType: String {
        /// Only ever goes up (or restarts from zero with the process).
        case counter
        /// Goes up and down.
        case gauge
        /// Quantiles over recent observations, with their running sum and count.
        case summary
    }

    /// The page so far.
    private(set) var text = ""

    /// The `Content-Type` of the page.
    static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    /// Starts a family: its help and type lines. Its samples must follow before the next family.
    mutating func family(_ name: String, _ type: MetricType, help: String) {
        text += "# HELP \(name) \(Self.escapedHelp(help))\n# TYPE \(name) \(type.rawValue)\n"
    }

    /// Adds a sample of the current family.
    mutating func sample(_ name: String, _ value: Double, labels: [(String, String)] = []) {
        sample(name, formatted: Self.formatted(value), labels: labels)
    }

    /// Adds a sample with a whole-number value.
    mutating func sample(_ name: String, _ value: Int64, labels: [(String, String)] = []) {
        sample(name, formatted: String(value), labels: labels)
    }

    private mutating func sample(_ name: String, formatted value: String, labels: [(String, String)]) {
        text += name
        if !labels.isEmpty {
            text += "{" + labels.map { "\($0.0)=\"\(Self.escapedLabelValue($0.1))\"" }.joined(separator: ",") + "}"
        }
        text += " \(value)\n"
    }

    /// A label value with backslash, double quote and line feed escaped.
    static func escapedLabelValue(_ value: String) -> String {
        escaped(value, quote: true)
    }

    /// Help text with backslash and line feed escaped.
    static func escapedHelp(_ help: String) -> String {
        escaped(help, quote: false)
    }

    private static func escaped(_ value: String, quote: Bool) -> String {
        var result = ""
        for character in value.unicodeScalars {
            switch character {
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\"" where quote: result += "\\\""
            default: result.unicodeScalars.append(character)
            }
        }
        return result
    }

    /// A value as Prometheus parses it: `NaN`, `+Inf` and `-Inf` for the values that are not finite.
    static func formatted(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        return "\(value)"
    }
}

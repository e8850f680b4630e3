#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// One line per event on standard error, as `logfmt`: a time, a level, a fixed message and
/// `key=value` metadata, which container log collectors parse as they are.
public struct Logger: Sendable {
    /// How much a line matters.
    public enum Level: Int, Sendable, Comparable, CustomStringConvertible {
        /// Detail for whoever debugs Chorus itself.
        case debug
        /// Lifecycle: started, run finished, stopped.
        case info
        /// Data was rejected or a rank was lost.
        case warning
        /// The collector cannot go on.
        case error

        /// The level's name.
        public var description: String {
            switch self {
            case .debug: "debug"
            case .info: "info"
            case .warning: "warning"
            case .error: "error"
            }
        }

        /// Orders levels by severity.
        public static func < (lhs: Level, rhs: Level) -> Bool { lhs.rawValue < rhs.rawValue }
    }

    /// The lowest level written.
    public var minimumLevel: Level

    /// Creates a logger writing `minimumLevel` and above.
    public init(minimumLevel: Level = .info) {
        self.minimumLevel = minimumLevel
    }

    /// Writes `message` with `metadata` at `level`.
    public func log(_ level: Level, _ message: String, _ metadata: [(String, String)] = []) {
        guard level >= minimumLevel else { return }
        var line = "time=\(Self.timestamp()) level=\(level) msg=\(Self.quoted(message))"
        for (key, value) in metadata {
            line += " \(key)=\(Self.quoted(value))"
        }
        line += "\n"
        // One write(2) per line, so lines from several threads never interleave.
        var bytes = Array(line.utf8)
        bytes.withUnsafeMutableBytes { buffer in
            _ = write(STDERR_FILENO, buffer.baseAddress, buffer.count)
        }
    }

    /// Writes at info level.
    public func info(_ message: String, _ metadata: [(String, String)] = []) { log(.info, message, metadata) }

    /// Writes at warning level.
    public func warning(_ message: String, _ metadata: [(String, String)] = []) { log(.warning, message, metadata) }

    /// Writes at error level.
    public func error(_ message: String, _ metadata: [(String, String)] = []) { log(.error, message, metadata) }

    /// Writes at debug level.
    public func debug(_ message: String, _ metadata: [(String, String)] = []) { log(.debug, message, metadata) }

    /// A value as logfmt needs it: bare when it is a plain word, else quoted and escaped.
    static func quoted(_ value: String) -> String {
        let plain =
            !value.isEmpty && value.utf8.allSatisfy { $0 > 0x20 && $0 != UInt8(ascii: "\"") && $0 != 0x3D && $0 < 0x7F }
        if plain { return value }
        var escaped = "\""
        for character in value.unicodeScalars {
            switch character {
            case "\"": escaped += "\\\""
            case "\\": escaped += "\\\\"
            case "\n": escaped += "\\n"
            default: escaped.unicodeScalars.append(character)
            }
        }
        return escaped + "\""
    }

    /// The current UTC time as RFC 3339 with milliseconds.
    static func timestamp() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var seconds = now.tv_sec
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func pad(_ value: Int32, _ width: Int = 2) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        let millis = Int32(now.tv_nsec / 1_000_000)
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1))-\(pad(parts.tm_mday))T"
            + "\(pad(parts.tm_hour)):\(pad(parts.tm_min)):\(pad(parts.tm_sec)).\(pad(millis, 3))Z"
    }
}

/// Seconds since the Unix epoch, from the real-time clock.
public func wallClockSeconds() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_REALTIME, &now)
    return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
}

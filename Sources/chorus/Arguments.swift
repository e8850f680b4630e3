/// A command line's arguments after the subcommand, read option by option.
///
/// Options are `--name value` or `--name=value`; flags are `--name`. Whatever a command
/// does not take is an error that names it, and ``UsageError`` makes `chorus` exit 64.
struct Arguments {
    private let allArguments: [String]
    private var consumed = Set<Int>()

    init(_ arguments: [String]) {
        allArguments = arguments
    }

    /// Whether `--help` or `-h` was given.
    var wantsHelp: Bool { allArguments.contains("--help") || allArguments.contains("-h") }

    /// The value of `--name`, if given (the last one wins).
    mutating func option(_ name: String) throws(UsageError) -> String? {
        try options(name).last
    }

    /// Every value of a repeatable `--name`.
    mutating func options(_ name: String) throws(UsageError) -> [String] {
        var values: [String] = []
        var index = 0
        while index < allArguments.count {
            let argument = allArguments[index]
            if argument == "--" { break }
            if argument == "--\(name)" {
                guard index + 1 < allArguments.count, !consumed.contains(index + 1) else {
                    throw UsageError("option --\(name) needs a value")
                }
                values.append(allArguments[index + 1])
                consumed.insert(index)
                consumed.insert(index + 1)
                index += 2
                continue
            }
            if argument.hasPrefix("--\(name)=") {
                values.append(String(argument.dropFirst(name.count + 3)))
                consumed.insert(index)
            }
            index += 1
        }
        return values
    }

    /// The value of `--name` as an integer within `range`.
    mutating func integer<T: FixedWidthInteger>(_ name: String, in range: ClosedRange<T>) throws(UsageError) -> T? {
        guard let text = try option(name) else { return nil }
        guard let value = T(text), range.contains(value) else {
            throw UsageError(
                "option --\(name) takes a whole number from \(range.lowerBound) to \(range.upperBound), not \"\(text)\""
            )
        }
        return value
    }

    /// The value of `--name` as a number within `range`.
    mutating func number(_ name: String, in range: ClosedRange<Double>) throws(UsageError) -> Double? {
        guard let text = try option(name) else { return nil }
        guard let value = Double(text), range.contains(value) else {
            throw UsageError(
                "option --\(name) takes a number from \(range.lowerBound) to \(range.upperBound), not \"\(text)\"")
        }
        return value
    }

    /// The value of `--name`, one of `choices`.
    mutating func choice(_ name: String, _ choices: [String]) throws(UsageError) -> String? {
        guard let value = try option(name) else { return nil }
        guard choices.contains(value) else {
            throw UsageError("option --\(name) takes one of \(choices.joined(separator: ", ")), not \"\(value)\"")
        }
        return value
    }

    /// Whether the flag `--name` was given.
    mutating func flag(_ name: String) -> Bool {
        guard let index = allArguments.firstIndex(of: "--\(name)") else { return false }
        consumed.insert(index)
        return true
    }

    /// The arguments that are neither options nor their values; call it after every option.
    mutating func positionalArguments() -> [String] {
        var values: [String] = []
        var afterSeparator = false
        for (index, argument) in allArguments.enumerated() where !consumed.contains(index) {
            if afterSeparator || argument == "-" || !argument.hasPrefix("-") {
                values.append(argument)
                consumed.insert(index)
            } else if argument == "--" {
                afterSeparator = true
                consumed.insert(index)
            }
        }
        return values
    }

    /// Throws for the first argument no one asked for.
    func finish() throws(UsageError) {
        for (index, argument) in allArguments.enumerated() where !consumed.contains(index) {
            if argument == "--help" || argument == "-h" { continue }
            throw UsageError("unknown argument \"\(argument)\"")
        }
    }
}

/// A command line `chorus` cannot act on; it exits 64 (EX_USAGE) with the message.
struct UsageError: Error, CustomStringConvertible {
    var message: String

    init(_ message: String) {
        self.message = message
    }

    var description: String { message }
}

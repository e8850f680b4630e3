import Foundation

/// A subcommand of `chorus`.
protocol Command {
    /// The word that selects it.
    static var name: String { get }
    /// One line for `chorus --help`.
    static var summary: String { get }
    /// The full text of `chorus <name> --help`.
    static var help: String { get }
    /// Runs with the arguments after the subcommand; returns the exit status.
    static func run(_ arguments: inout Arguments) throws -> Int32
}

/// A subcommand as `main` dispatches to it.
struct Subcommand {
    let name: String
    let summary: String
    let help: String
    let run: (inout Arguments) throws -> Int32
}

extension Subcommand {
    /// The command's line in `chorus --help`.
    var overviewLine: String { "  \(name.padding(toLength: 9, withPad: " ", startingAt: 0)) \(summary)" }
}

extension Command {
    static var subcommand: Subcommand { Subcommand(name: name, summary: summary, help: help, run: run) }
}

let commands: [Subcommand] = [
    DemoCommand.subcommand, CollectCommand.subcommand, RelayCommand.subcommand, ReplayCommand.subcommand,
    StatusCommand.subcommand,
    ShowCommand.subcommand, RunsCommand.subcommand, ExportCommand.subcommand, BenchCommand.subcommand,
    KeygenCommand.subcommand,
]

let overview = """
    chorus: merge the metrics every rank of a data-parallel training job logs into one history.

    Usage: chorus <command> [options]

    Commands:
    \(commands.map(\.overviewLine).joined(separator: "\n"))

    Run `chorus <command> --help` for a command's options. Start with `chorus demo`.
    """

@MainActor
func main() -> Int32 {
    var words = Array(CommandLine.arguments.dropFirst())
    guard let first = words.first else {
        printLine(overview)
        return 64
    }
    if first == "--help" || first == "-h" || first == "help" {
        printLine(overview)
        return 0
    }
    if first == "--version" {
        printLine("chorus \(ChorusVersion.current)")
        return 0
    }
    guard let command = commands.first(where: { $0.name == first }) else {
        printError("chorus: unknown command \"\(first)\"; commands: \(commands.map(\.name).joined(separator: ", "))")
        return 64
    }
    words.removeFirst()
    var arguments = Arguments(words)
    if arguments.wantsHelp {
        printLine(command.help)
        return 0
    }
    do {
        return try command.run(&arguments)
    } catch let error as UsageError {
        printError("chorus \(command.name): \(error.message)\nRun `chorus \(command.name) --help` for usage.")
        return 64
    } catch {
        printError("chorus \(command.name): \(error)")
        return 1
    }
}

/// Writes a line to standard output at once, unbuffered, so progress shows as it happens.
func printLine(_ line: String = "") {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

/// Writes a line to standard error.
func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}

/// The version of this build.
enum ChorusVersion {
    static let current = "0.1.0"
}

exit(main())

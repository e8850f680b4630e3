import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A child process a test started: the `chorus` binary, or a Python sender.
///
/// Its standard output and error go to files in the test's ``Scratch`` directory rather than
/// pipes, so a chatty child never blocks on a full pipe while the test is polling something
/// else. Whoever starts one calls ``kill()`` in a `defer`; `deinit` does it too, as a backstop.
final class ChorusProcess {
    /// What the process was started as, for failure messages.
    let commandLine: String
    private let process = Process()
    private let outputPath: String
    private let errorPath: String

    /// Starts `executable` with `arguments`, in `scratch`'s directory.
    /// - Parameter label: names the output files, so a failed test's leftovers say whose they are.
    init(executable: String, _ arguments: [String], in scratch: Scratch, label: String) throws {
        commandLine = ([executable] + arguments).joined(separator: " ")
        let unique = "\(label)-\(UUID().uuidString.prefix(8))"
        outputPath = scratch.path("\(unique).out")
        errorPath = scratch.path("\(unique).err")
        for path in [outputPath, errorPath] {
            guard FileManager.default.createFile(atPath: path, contents: nil) else {
                throw ProcessFailure("cannot create \(path)")
            }
        }
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: scratch.directory)
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle(forWritingAtPath: outputPath)
        process.standardError = FileHandle(forWritingAtPath: errorPath)
        try process.run()
    }

    /// Starts the `chorus` binary.
    convenience init(chorus arguments: [String], in scratch: Scratch) throws {
        try self.init(executable: try ChorusBinary.path(), arguments, in: scratch, label: arguments.first ?? "chorus")
    }

    deinit {
        kill()
    }

    /// The process id.
    var pid: Int32 { process.processIdentifier }

    /// Whether it has not exited yet.
    var isRunning: Bool { process.isRunning }

    /// Everything it wrote to standard output so far.
    var standardOutput: String { Self.read(outputPath) }

    /// Everything it wrote to standard error so far.
    var standardError: String { Self.read(errorPath) }

    /// Sends `signal` (SIGTERM, SIGINT, …) if it is still running.
    func send(_ signal: Int32) {
        if process.isRunning { _ = Glibc.kill(process.processIdentifier, signal) }
    }

    /// SIGKILLs it if it is still running and reaps it.
    func kill() {
        guard process.isRunning else { return }
        _ = Glibc.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// Waits for it to exit, at most `timeout` seconds.
    /// - Returns: its exit status, or 128 + the signal that ended it, as a shell reports it.
    /// - Throws: ``ProcessFailure`` naming the command and showing its stderr if it is still
    ///   running at the deadline (it is then SIGKILLed).
    @discardableResult
    func wait(timeout: Double) throws -> Int32 {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning {
            if Date() >= deadline {
                kill()
                throw ProcessFailure("`\(commandLine)` still ran after \(timeout) s; stderr:\n\(standardError)")
            }
            usleep(10_000)
        }
        process.waitUntilExit()
        let status = process.terminationStatus
        return process.terminationReason == .uncaughtSignal ? 128 + status : status
    }

    /// Polls `condition` every `interval` seconds until it holds, for at most `timeout` seconds.
    /// - Throws: ``ProcessFailure`` saying what was awaited, if it never held.
    static func poll(_ what: String, timeout: Double, every interval: Double = 0.05, _ condition: () throws -> Bool)
        throws
    {
        let deadline = Date().addingTimeInterval(timeout)
        while try !condition() {
            if Date() >= deadline { throw ProcessFailure("gave up after \(timeout) s waiting for \(what)") }
            usleep(UInt32(interval * 1_000_000))
        }
    }

    private static func read(_ path: String) -> String {
        FileManager.default.contents(atPath: path).map { String(decoding: $0, as: UTF8.self) } ?? ""
    }
}

/// What a finished one-shot command printed and returned.
struct CommandOutcome {
    var status: Int32
    var standardOutput: String
    var standardError: String
}

extension ChorusProcess {
    /// Runs `chorus` with `arguments` to completion (tens of seconds at most).
    static func run(_ arguments: [String], in scratch: Scratch, timeout: Double = 60) throws -> CommandOutcome {
        let child = try ChorusProcess(chorus: arguments, in: scratch)
        defer { child.kill() }
        let status = try child.wait(timeout: timeout)
        return CommandOutcome(status: status, standardOutput: child.standardOutput, standardError: child.standardError)
    }

    /// Runs `chorus` with `arguments` and returns its standard output.
    /// - Throws: ``ProcessFailure`` with the stderr if it does not exit 0.
    static func output(_ arguments: [String], in scratch: Scratch, timeout: Double = 60) throws -> String {
        let outcome = try run(arguments, in: scratch, timeout: timeout)
        guard outcome.status == 0 else {
            throw ProcessFailure(
                "`chorus \(arguments.joined(separator: " "))` exited \(outcome.status):\n\(outcome.standardError)"
            )
        }
        return outcome.standardOutput
    }
}

/// Something a test's child process did that the test cannot go on from.
struct ProcessFailure: Error, CustomStringConvertible {
    var description: String

    init(_ description: String) {
        self.description = description
    }
}

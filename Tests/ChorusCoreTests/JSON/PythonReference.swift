import Foundation

/// Runs a Python 3 script, the reference for what `json.dumps` writes and `json.loads`
/// reads. CI has `python3`, so a missing interpreter fails the test instead of skipping it.
enum PythonReference {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// Runs `script` with `input` on standard input and returns standard output.
    static func run(_ script: String, input: [UInt8] = []) throws -> [UInt8] {
        // Standard input and error are files: with only one pipe, python3 cannot stall on a
        // full pipe that this side is not reading.
        let base = FileManager.default.temporaryDirectory
            .appendingPathComponent("chorus-json-\(UUID().uuidString)")
        let inputURL = base.appendingPathExtension("in")
        let errorURL = base.appendingPathExtension("err")
        try Data(input).write(to: inputURL)
        try Data().write(to: errorURL)
        defer {
            try? FileManager.default.removeItem(at: inputURL)
            try? FileManager.default.removeItem(at: errorURL)
        }

        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script]
        let stdout = Pipe()
        process.standardInput = try FileHandle(forReadingFrom: inputURL)
        process.standardOutput = stdout
        process.standardError = try FileHandle(forWritingTo: errorURL)
        try process.run()
        let output = stdout.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            let errors = (try? Data(contentsOf: errorURL)) ?? Data()
            throw Failure(
                description: "python3 exited with \(process.terminationStatus): "
                    + String(decoding: errors, as: UTF8.self)
            )
        }
        return [UInt8](output)
    }

    /// Runs `script` and splits its output into lines of bytes (not of `Character`s, which
    /// would join `\r\n` and could hide a byte).
    static func lines(_ script: String, input: [UInt8] = []) throws -> [[UInt8]] {
        try run(script, input: input)
            .split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: true)
            .map(Array.init)
    }
}

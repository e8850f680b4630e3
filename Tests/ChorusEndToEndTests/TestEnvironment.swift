import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Where the `chorus` binary under test is.
enum ChorusBinary {
    /// `$CHORUS_BIN`, else `chorus` beside the test executable (both live in `<scratch>/debug/`).
    /// - Throws: ``ProcessFailure`` naming every path tried, so a missing binary fails the
    ///   test loudly instead of skipping it.
    static func path() throws -> String {
        try located.get()
    }

    private static let located: Result<String, ProcessFailure> = {
        var candidates: [String] = []
        if let given = ProcessInfo.processInfo.environment["CHORUS_BIN"], !given.isEmpty {
            candidates.append(given)
        } else {
            var directories: [String] = []
            if let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
                directories.append((exe as NSString).deletingLastPathComponent)
            }
            if let first = CommandLine.arguments.first {
                let absolute = URL(fileURLWithPath: first).standardizedFileURL.path
                directories.append((absolute as NSString).deletingLastPathComponent)
            }
            let bundle = Bundle.main.bundlePath
            directories += [bundle, (bundle as NSString).deletingLastPathComponent]
            for directory in directories where !candidates.contains(directory + "/chorus") {
                candidates.append(directory + "/chorus")
            }
        }
        if let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) {
            return .success(found)
        }
        return .failure(
            ProcessFailure(
                "the chorus binary is missing; tried \(candidates.joined(separator: ", ")). "
                    + "Build it (`swift build --product chorus`) or point CHORUS_BIN at it."
            )
        )
    }()
}

/// The repository this test file belongs to, and its bundled data.
enum Repository {
    /// The directory holding `Package.swift` and `Data/oscar`, found upwards from this file.
    static func root(from file: String = #filePath) throws -> String {
        var directory = URL(fileURLWithPath: file).deletingLastPathComponent()
        while directory.path != "/" {
            let manifest = directory.appendingPathComponent("Package.swift").path
            let data = directory.appendingPathComponent("Data/oscar/oscar_expected.json").path
            if FileManager.default.fileExists(atPath: manifest) && FileManager.default.fileExists(atPath: data) {
                return directory.path
            }
            directory.deleteLastPathComponent()
        }
        throw ProcessFailure("no directory above \(file) holds Package.swift and Data/oscar")
    }

    /// `Data/oscar` of the repository.
    static func oscarData() throws -> String {
        try root() + "/Data/oscar"
    }
}

/// A fresh directory for one test: its store, its rank files, its ipc sockets, its children's output.
struct Scratch {
    /// The directory's absolute path (short, so `ipc://` paths stay under the 107-byte limit).
    let directory: String

    init() throws {
        let base = NSTemporaryDirectory().hasSuffix("/") ? NSTemporaryDirectory() : NSTemporaryDirectory() + "/"
        directory = base + "chorus-e2e-" + UUID().uuidString.prefix(13).lowercased()
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
    }

    /// A path inside the directory.
    func path(_ name: String) -> String {
        directory + "/" + name
    }

    /// Writes `text` to `name` and returns its path.
    @discardableResult
    func write(_ name: String, _ text: String) throws -> String {
        let path = path(name)
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// Reads `name` as UTF-8.
    func read(_ name: String) throws -> String {
        guard let data = FileManager.default.contents(atPath: path(name)) else {
            throw ProcessFailure("cannot read \(path(name))")
        }
        return String(decoding: data, as: UTF8.self)
    }

    /// Deletes the directory and everything in it.
    func remove() {
        try? FileManager.default.removeItem(atPath: directory)
    }
}

/// How a test's workers reach its collector.
enum Transport: String, CustomTestStringConvertible, CaseIterable, Sendable {
    case ipc
    case tcp

    var testDescription: String { rawValue }

    /// A fresh endpoint: a socket file in `scratch`, or a loopback port no one holds right now.
    func endpoint(in scratch: Scratch) throws -> String {
        switch self {
        case .ipc: "ipc://" + scratch.path("c-\(UUID().uuidString.prefix(6)).sock")
        case .tcp: "tcp://127.0.0.1:\(try Self.freePort())"
        }
    }

    /// A TCP port the kernel hands out on 127.0.0.1 and that is free once this returns.
    ///
    /// Another process may take it before the collector binds it; ``CollectorUnderTest``
    /// retries with a new port when the bind reports it in use.
    static func freePort() throws -> UInt16 {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw ProcessFailure("socket() failed: errno \(errno)") }
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { generic in
                bind(descriptor, generic, length) == 0 && getsockname(descriptor, generic, &length) == 0
            }
        }
        guard bound else { throw ProcessFailure("binding 127.0.0.1:0 failed: errno \(errno)") }
        return UInt16(bigEndian: address.sin_port)
    }
}

import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// `tcp_proxy.py` between workers and a collector: one listening port per target. Stopping
/// and then killing it resets every connection through it and loses what was in flight.
final class TCPProxy {
    /// The ports it listens on, one per target, in order.
    let ports: [UInt16]
    private var process: ChorusProcess
    private let targets: [(host: String, port: UInt16)]
    private let scratch: Scratch

    /// Starts the proxy on free ports of 127.0.0.1, forwarding each to its target.
    init(to targets: [(host: String, port: UInt16)], in scratch: Scratch) throws {
        self.targets = targets
        self.scratch = scratch
        (process, ports) = try Self.start(ports: targets.map { _ in 0 }, targets, in: scratch)
    }

    deinit {
        process.kill()
    }

    /// Freezes it (SIGSTOP) for `stalled` seconds, so that what the workers send piles up in
    /// its sockets, then SIGKILLs it, which resets its connections and loses that.
    func stallAndKill(stalled: Double) {
        process.send(SIGSTOP)
        Thread.sleep(forTimeInterval: stalled)
        process.kill()
    }

    /// Starts it again on the same ports.
    func restart() throws {
        precondition(!process.isRunning, "restart the proxy only once it has exited")
        (process, _) = try Self.start(ports: ports, targets, in: scratch)
    }

    private static func start(
        ports: [UInt16],
        _ targets: [(host: String, port: UInt16)],
        in scratch: Scratch
    ) throws -> (ChorusProcess, [UInt16]) {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("tcp_proxy.py")
        let routes = zip(ports, targets).map { "\($0):\($1.host):\($1.port)" }
        let process = try ChorusProcess(
            executable: "/usr/bin/env",
            ["python3", script.path] + routes,
            in: scratch,
            label: "proxy"
        )
        var bound: [UInt16] = []
        try ChorusProcess.poll("the proxy to listen", timeout: 30) {
            guard process.isRunning else {
                throw ProcessFailure("`\(process.commandLine)` exited at start:\n\(process.standardError)")
            }
            let line = process.standardOutput.split(separator: "\n").first { $0.hasPrefix("proxy listening ") }
            bound = line?.split(separator: " ").dropFirst(2).compactMap { UInt16($0) } ?? []
            return bound.count == targets.count
        }
        return (process, bound)
    }
}

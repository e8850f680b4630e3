import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A network namespace joined to this one by a veth pair: processes started inside reach
/// the outside only through the pair, so taking its outer end down cuts them off, as a
/// pulled cable or a failed switch does, and bringing it up restores them.
///
/// Needs root and iproute2's `ip`; without them it throws rather than letting a test skip.
final class NetworkNamespace {
    /// The namespace's name.
    let name: String
    /// The outer end's address, which processes inside reach the outside at.
    let outerAddress: String
    private let outerDevice: String
    private let ip: String
    private let scratch: Scratch

    /// Makes the namespace and the pair, with addresses on a /24 of 10.231.0.0/16.
    init(in scratch: Scratch) throws {
        guard geteuid() == 0 else {
            throw ProcessFailure("a network namespace needs root; run the fault tests as root, as CI does")
        }
        guard
            let ip = ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"].first(where: {
                FileManager.default.isExecutableFile(atPath: $0)
            })
        else {
            throw ProcessFailure("`ip` is missing; install iproute2")
        }
        self.ip = ip
        self.scratch = scratch
        let tag = String(UUID().uuidString.lowercased().filter(\.isHexDigit).prefix(6))
        let subnet = "10.231.\(Int.random(in: 1...254))"
        name = "chorus-\(tag)"
        outerDevice = "chv\(tag)o"
        outerAddress = "\(subnet).1"
        let innerDevice = "chv\(tag)i"
        try run(["netns", "add", name])
        do {
            try run(["link", "add", outerDevice, "type", "veth", "peer", "name", innerDevice])
            try run(["link", "set", innerDevice, "netns", name])
            try run(["addr", "add", "\(outerAddress)/24", "dev", outerDevice])
            try run(["link", "set", outerDevice, "up"])
            try run(["-n", name, "addr", "add", "\(subnet).2/24", "dev", innerDevice])
            try run(["-n", name, "link", "set", innerDevice, "up"])
            try run(["-n", name, "link", "set", "lo", "up"])
        } catch {
            remove()
            throw error
        }
    }

    deinit {
        remove()
    }

    /// Starts `chorus` with `arguments` inside the namespace.
    func chorus(_ arguments: [String], in scratch: Scratch) throws -> ChorusProcess {
        // `ip netns exec` enters the namespace and then executes chorus in its own process,
        // so the process id is chorus's own and signals reach it.
        try ChorusProcess(
            executable: ip,
            ["netns", "exec", name, try ChorusBinary.path()] + arguments,
            in: scratch,
            label: arguments.first ?? "chorus"
        )
    }

    /// Takes the outer end down: nothing passes until ``restore()``.
    func cut() throws {
        try run(["link", "set", outerDevice, "down"])
    }

    /// Brings the outer end back up.
    func restore() throws {
        try run(["link", "set", outerDevice, "up"])
    }

    /// Deletes the namespace, and with its inner end the whole pair.
    private func remove() {
        _ = try? run(["netns", "del", name])
    }

    private func run(_ arguments: [String]) throws {
        let child = try ChorusProcess(executable: ip, arguments, in: scratch, label: "ip")
        let status = try child.wait(timeout: 30)
        guard status == 0 else {
            throw ProcessFailure("`\(child.commandLine)` exited \(status):\n\(child.standardError)")
        }
    }
}

import ChorusCore
import ChorusZMQ

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The collector's PUB socket, on which it tells each incarnation how far its records are
/// committed, so that clients keep only what is not yet safe (`protocol.md`, section 8).
///
/// Owned by the collector's loop thread, like the PULL socket.
final class AckPublisher {
    /// The id this collector picked when it started.
    let collectorID: String
    /// The endpoints as bound.
    let boundEndpoints: [String]
    private let socket: ZMQSocket
    /// What each incarnation was last told, and when that changed.
    private var published: [Sender: (ack: Acknowledgement, changedAt: Double)] = [:]
    private var lastRepeat = 0.0

    /// How often every live incarnation is told again, in seconds.
    static let repeatInterval = 1.0
    /// How long an incarnation of a finished run is still told again, in seconds.
    static let finishedRunGrace = 30.0

    init(context: ZMQContext, endpoints: [String], curve: CurveAccess?) throws {
        collectorID = Self.randomID()
        let socket = try ZMQSocket(context, type: .pub)
        if let curve {
            try socket.setCurveServer(secretKey: curve.serverSecretKey)
            try socket.setZapDomain("chorus")
        }
        try socket.setLinger(milliseconds: 0)
        var bound: [String] = []
        for endpoint in endpoints {
            do {
                try socket.bind(endpoint)
            } catch {
                throw AckEndpointError(endpoint: endpoint, underlying: error)
            }
            bound.append(try socket.lastEndpoint)
        }
        self.socket = socket
        boundEndpoints = bound
    }

    /// Publishes what a commit made true, for the incarnations it moved.
    func publish(committed acks: [Acknowledgement], now: Double) {
        for ack in acks {
            published[ack.sender] = (ack, now)
            send(ack)
        }
    }

    /// Every `repeatInterval`, tells again every incarnation of a run that is not finished
    /// (or finished within `finishedRunGrace`), for clients that connected since.
    func repeatIfDue(now: Double, isFinished: (String) -> Bool) {
        guard now - lastRepeat >= Self.repeatInterval else { return }
        lastRepeat = now
        for (sender, entry) in published {
            if isFinished(sender.run) && now - entry.changedAt > Self.finishedRunGrace { continue }
            send(entry.ack)
        }
    }

    /// Stops repeating the acknowledgements of a run that left memory.
    func forget(run: String) {
        published = published.filter { $0.key.run != run }
    }

    /// Unbinds, removing the socket files of `ipc://` endpoints.
    func release() {
        for endpoint in boundEndpoints {
            try? socket.unbind(endpoint)
            if endpoint.hasPrefix("ipc://") {
                unlink(String(endpoint.dropFirst("ipc://".count)))
            }
        }
    }

    private func send(_ ack: Acknowledgement) {
        // A PUB socket never blocks: past its high-water mark a subscriber misses messages,
        // and the next repeat makes up for them.
        _ = try? socket.send(Acknowledgement.topic(for: ack.sender), more: true, wait: false)
        _ = try? socket.send(ack.encoded(), wait: false)
    }

    private static func randomID() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<16).map { _ in String(UInt8.random(in: 0...255, using: &generator), radix: 16) }
            .map { $0.count == 1 ? "0" + $0 : $0 }.joined()
    }
}

/// The acknowledgement endpoint could not be bound; says which it was and how to choose
/// another, since its port is chosen for the operator unless they name one.
struct AckEndpointError: Error, CustomStringConvertible {
    let endpoint: String
    let underlying: ZMQError

    var description: String {
        "cannot bind the acknowledgement endpoint \(endpoint) (by default the data port plus one; "
            + "--ack-bind chooses another, --no-ack turns acknowledgements off): \(underlying.message)"
    }
}

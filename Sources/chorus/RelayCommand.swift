import ChorusCollector
import ChorusCore
import Foundation

/// `chorus relay`: a node-local tier between the node's ranks and a collector.
enum RelayCommand: Command {
    static let name = "relay"
    static let summary = "forward a node's ranks to a collector in batches, passing its acknowledgements back"
    static let help = """
        Usage: chorus relay --upstream ENDPOINT [--bind ENDPOINT]... [options]

        Takes the messages of the ranks on this node, refuses what a collector would refuse,
        and forwards the rest to the collector (or to another relay) upstream in batches,
        each message's bytes untouched, so the collector sees one connection and few
        messages per node and merges exactly as if the ranks had sent to it. It passes the
        collector's acknowledgements back, so that the ranks keep their records until the
        collector's store has them; the relay itself keeps nothing, and a relay that dies
        loses nothing the ranks will not send again (protocol.md, section 9). On SIGTERM or
        SIGINT it forwards what it holds and exits 0.

        Options:
          --upstream ENDPOINT    the collector (default: $CHORUS_UPSTREAM)
          --upstream-ack ENDPOINT
                                 the collector's acknowledgement endpoint (default: paired
                                 with --upstream: the next tcp port, or PATH.ack for ipc)
          --bind ENDPOINT        where the node's ranks send; repeatable
                                 (default: $CHORUS_BIND, else tcp://127.0.0.1:7700)
          --ack-bind ENDPOINT    where the node's ranks hear acknowledgements; repeatable
                                 (default: beside each --bind, as the collector does)
          --upstream-server-key KEY
                                 the collector's CURVE public key, if it runs with CURVE
                                 (default: $CHORUS_CURVE_SERVER_KEY)
          --upstream-secret-key-file FILE
                                 the relay's own secret key, as `chorus keygen` writes it;
                                 the collector's --allow-keys-file lists its public key
                                 (default: $CHORUS_CURVE_SECRET_KEY holds the key itself)
          --id ID                the relay's id in its batches (default: relay-HOSTNAME)
          --batch-messages N     the most messages in one batch (default 1000)
          --batch-interval SECONDS
                                 the longest a message waits for its batch (default 0.02)
          --log-level LEVEL      debug, info, warning or error (default info)
        """

    static func run(_ arguments: inout Arguments) throws -> Int32 {
        let environment = ProcessInfo.processInfo.environment
        guard let upstream = try arguments.option("upstream") ?? environment["CHORUS_UPSTREAM"] else {
            throw UsageError("name the collector with --upstream ENDPOINT")
        }
        var endpoints = try arguments.options("bind")
        if endpoints.isEmpty { endpoints = [environment["CHORUS_BIND"] ?? "tcp://127.0.0.1:7700"] }
        let host = ProcessInfo.processInfo.hostName.filter { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "." }
        let relayID = try arguments.option("id") ?? "relay-\(host.prefix(50))"
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
        guard !relayID.isEmpty, relayID.count <= 64, relayID.allSatisfy(allowed.contains) else {
            throw UsageError("--id takes 1 to 64 characters of A-Z a-z 0-9 . _ -, not \"\(relayID)\"")
        }
        var configuration = RelayConfiguration(endpoints: endpoints, upstream: upstream, relayID: relayID)
        configuration.upstreamAcknowledgements = try arguments.option("upstream-ack")
        let ackEndpoints = try arguments.options("ack-bind")
        if !ackEndpoints.isEmpty { configuration.ackEndpoints = ackEndpoints }
        configuration.upstreamKeys = try upstreamKeys(&arguments, environment)
        configuration.batchMessages = try arguments.integer("batch-messages", in: 1...100_000) ?? 1_000
        configuration.batchInterval = try arguments.number("batch-interval", in: 0.0001...10) ?? 0.02
        let levels: [String: Logger.Level] = ["debug": .debug, "info": .info, "warning": .warning, "error": .error]
        let level = try arguments.choice("log-level", ["debug", "info", "warning", "error"]) ?? "info"
        configuration.logger = Logger(minimumLevel: levels[level] ?? .info)
        try arguments.finish()

        let relay = Relay(configuration: configuration)
        try relay.start()
        let signals = CollectCommand.stopOnSignals(logger: configuration.logger) { relay.stop() }
        relay.waitUntilStopped()
        withExtendedLifetime(signals) {}
        if let failure = relay.failure {
            printError("chorus relay: \(failure)")
            return 1
        }
        return 0
    }

    /// The CURVE keys for the upstream, from the options or else the workers' variables.
    private static func upstreamKeys(_ arguments: inout Arguments, _ environment: [String: String]) throws
        -> RelayUpstreamKeys?
    {
        let server = try arguments.option("upstream-server-key") ?? environment["CHORUS_CURVE_SERVER_KEY"]
        let secretFile = try arguments.option("upstream-secret-key-file")
        let secret = environment["CHORUS_CURVE_SECRET_KEY"]
        switch (server, secretFile, secret) {
        case (nil, nil, nil):
            return nil
        case (let server?, let file?, _):
            return try RelayUpstreamKeys.load(serverPublicKey: server, secretKeyFile: file)
        case (let server?, nil, let secret?):
            return try RelayUpstreamKeys(serverPublicKey: server, secretKey: secret)
        default:
            throw UsageError(
                "a CURVE upstream takes both its public key (--upstream-server-key) and the relay's secret key "
                    + "(--upstream-secret-key-file or $CHORUS_CURVE_SECRET_KEY)"
            )
        }
    }
}

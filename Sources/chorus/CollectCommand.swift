import ChorusCollector
import ChorusCore
import ChorusHTTP
import Dispatch
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// `chorus collect`: the daemon.
enum CollectCommand: Command {
    static let name = "collect"
    static let summary = "run a collector: receive, merge, reduce and store until SIGTERM or SIGINT"
    static let help = """
        Usage: chorus collect [--bind ENDPOINT]... [--store FILE] [options]

        Binds a ZeroMQ PULL socket, merges every rank's records into one history per run,
        reduces each step across ranks as it completes, and writes everything to a SQLite
        file. On SIGTERM or SIGINT it stops receiving, drains what is queued, completes every
        open step, commits and exits 0.

        With --http-bind it also serves HTTP: /healthz (200 while it runs, 503 once it failed or
        is stopping), /readyz (200 once its endpoints are bound and its store is open) and
        /metrics (Prometheus text format: messages, rejections by reason, commits, store
        latency, and per run records, duplicates, late, rows, open steps and ranks by state).

        Options:
          --bind ENDPOINT        tcp://HOST:PORT or ipc:///PATH; repeatable
                                 (default: $CHORUS_BIND, else tcp://127.0.0.1:7700)
          --ack-bind ENDPOINT    where to publish acknowledgements of committed records; repeatable
                                 (default: $CHORUS_ACK_BIND, else beside each --bind: the next
                                 tcp port, or PATH.ack for ipc; see protocol.md, section 8)
          --no-ack               publish no acknowledgements
          --store FILE           the SQLite file (default: $CHORUS_STORE, else chorus.sqlite)
          --max-open-steps N     steps held open per run before the oldest completes (default 1000)
          --rank-timeout SECONDS silence after which a rank is lost (default 60)
          --max-ranks-per-run N  world and auxiliary ranks one run may have (default 100000)
          --max-live-runs N      unfinished runs merged at once (default 10000)
          --max-sequence-ranges N
                                 separate runs of sequence numbers one incarnation may have
                                 before a record that starts another waits (default 10000)
          --receive-hwm N        messages queued per connection before its sender waits
                                 (default 10000); with the 1 MiB message limit it bounds
                                 what a flooding sender can make the collector hold
          --durable              wait for the disk on every commit (synchronous=FULL)
          --curve-secret-key-file FILE
                                 encrypt every connection with CURVE under this secret key
                                 (see `chorus keygen`); needs --allow-keys-file
          --allow-keys-file FILE the workers' public keys, one per line: only they get in
          --http-bind HOST:PORT  serve /healthz, /readyz and /metrics there, e.g. 0.0.0.0:9464;
                                 port 0 takes any free port, logged as `http listening`
                                 (default: $CHORUS_HTTP_BIND, else no HTTP)
          --log-level LEVEL      debug, info, warning or error (default info)
        """

    static func run(_ arguments: inout Arguments) throws -> Int32 {
        let environment = ProcessInfo.processInfo.environment
        var endpoints = try arguments.options("bind")
        if endpoints.isEmpty { endpoints = [environment["CHORUS_BIND"] ?? "tcp://127.0.0.1:7700"] }
        let store = try arguments.option("store") ?? environment["CHORUS_STORE"] ?? "chorus.sqlite"
        var configuration = CollectorConfiguration(endpoints: endpoints, storePath: store)
        configuration.merge.maxOpenSteps = try arguments.integer("max-open-steps", in: 1...10_000_000) ?? 1_000
        configuration.merge.rankTimeout = try arguments.number("rank-timeout", in: 0.001...31_536_000) ?? 60
        configuration.merge.maxRanksPerRun =
            try arguments.integer("max-ranks-per-run", in: 1...1_048_576) ?? configuration.merge.maxRanksPerRun
        configuration.maxLiveRuns =
            try arguments.integer("max-live-runs", in: 1...1_000_000) ?? configuration.maxLiveRuns
        configuration.merge.maxSequenceRangesPerIncarnation =
            try arguments.integer("max-sequence-ranges", in: 1...10_000_000)
            ?? configuration.merge.maxSequenceRangesPerIncarnation
        configuration.receiveHighWaterMark =
            try arguments.integer("receive-hwm", in: Int32(1)...10_000_000) ?? configuration.receiveHighWaterMark
        configuration.durable = arguments.flag("durable")
        var ackEndpoints = try arguments.options("ack-bind")
        if ackEndpoints.isEmpty, let fromEnvironment = environment["CHORUS_ACK_BIND"] {
            ackEndpoints = [fromEnvironment]
        }
        if arguments.flag("no-ack") {
            guard ackEndpoints.isEmpty else { throw UsageError("--no-ack and --ack-bind exclude each other") }
            configuration.ackEndpoints = []
        } else if !ackEndpoints.isEmpty {
            configuration.ackEndpoints = ackEndpoints
        }
        let secretKeyFile = try arguments.option("curve-secret-key-file")
        let allowedKeysFile = try arguments.option("allow-keys-file")
        switch (secretKeyFile, allowedKeysFile) {
        case (let secret?, let allowed?):
            configuration.curve = try CurveAccess.load(secretKeyFile: secret, allowedKeysFile: allowed)
        case (nil, nil):
            break
        default:
            throw UsageError("--curve-secret-key-file and --allow-keys-file go together")
        }
        let levels: [String: Logger.Level] = ["debug": .debug, "info": .info, "warning": .warning, "error": .error]
        let level = try arguments.choice("log-level", ["debug", "info", "warning", "error"]) ?? "info"
        configuration.logger = Logger(minimumLevel: levels[level] ?? .info)
        let httpAddress = try httpBindAddress(&arguments, environment)
        try arguments.finish()

        let collector = try Collector(configuration: configuration)
        // HTTP first, so that a port in use fails before the store is touched; /readyz says
        // 503 until the collector has started.
        let http = try httpAddress.map { try HTTPEndpoint(collector: collector, address: $0) }
        try collector.start()
        let signals = stopOnSignals(logger: configuration.logger) { collector.stop() }
        collector.waitUntilStopped()
        http?.stop()
        withExtendedLifetime(signals) {}
        if let failure = collector.failure {
            printError("chorus collect: \(failure)")
            return 1
        }
        return 0
    }

    /// `--http-bind`, else `$CHORUS_HTTP_BIND`, as an address; nil when neither is given.
    static func httpBindAddress(_ arguments: inout Arguments, _ environment: [String: String]) throws(UsageError)
        -> HTTPBindAddress?
    {
        let option = try arguments.option("http-bind")
        guard let text = option ?? environment["CHORUS_HTTP_BIND"], !text.isEmpty else { return nil }
        guard let address = HTTPBindAddress(text) else {
            let source = option == nil ? "CHORUS_HTTP_BIND" : "option --http-bind"
            throw UsageError("\(source) takes HOST:PORT (an IPv6 address in brackets), not \"\(text)\"")
        }
        return address
    }

    /// Makes SIGTERM and SIGINT call `stop` instead of killing the process, so that what was
    /// received is handled before it exits.
    static func stopOnSignals(logger: Logger, _ stop: @escaping @Sendable () -> Void) -> [any DispatchSourceSignal] {
        [SIGTERM, SIGINT].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                logger.info("stopping", [("signal", number == SIGTERM ? "SIGTERM" : "SIGINT")])
                stop()
            }
            source.resume()
            return source
        }
    }
}

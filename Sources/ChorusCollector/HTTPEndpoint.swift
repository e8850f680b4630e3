import ChorusHTTP

/// A collector's HTTP face for probes and scrapers: `/healthz`, `/readyz` and `/metrics`.
///
/// It serves on libmicrohttpd's own thread and reads only what the collector's loop
/// publishes under the collector's lock, so a slow or hostile client never holds the loop
/// back. Stop it after the collector has stopped; `/healthz` and `/readyz` answer 503 while
/// the collector drains.
public final class HTTPEndpoint: Sendable {
    /// The collector served.
    public let collector: Collector
    private let server: HTTPServer

    /// The port it listens on (the one the system chose, when asked for port 0).
    public var port: UInt16 { server.port }

    /// Starts serving `collector` on `address`, and logs `http listening` with the port.
    /// - Throws: ``HTTPServerError`` when the host does not resolve or the port cannot be bound.
    public init(collector: Collector, address: HTTPBindAddress) throws {
        self.collector = collector
        let logger = collector.configuration.logger
        server = try HTTPServer(
            address: address,
            log: { message in logger.debug("http", [("detail", message)]) },
            handler: { [collector] request in Self.respond(to: request, collector: collector) }
        )
        logger.info(
            "http listening",
            [
                ("address", HTTPBindAddress(host: address.host, port: server.port).description),
                ("port", String(server.port)),
            ]
        )
    }

    /// Closes the port and every connection; later calls do nothing.
    public func stop() {
        server.stop()
    }

    /// The answer to `request`: 404 for a path not served, 405 for a method other than GET
    /// or HEAD, else the page.
    static func respond(to request: HTTPRequest, collector: Collector) -> HTTPResponse {
        let paths = ["/healthz", "/readyz", "/metrics"]
        guard paths.contains(request.path) else {
            return .text(404, "not found; this serves \(paths.joined(separator: ", "))\n")
        }
        guard request.method == "GET" || request.method == "HEAD" else {
            return .text(405, "method not allowed\n", headers: [HTTPHeader(name: "Allow", value: "GET, HEAD")])
        }
        switch request.path {
        case "/healthz":
            // Alive unless it failed or is going away: a collector still starting is not to be restarted.
            let phase = collector.phase
            return [.starting, .running].contains(phase) ? .text(200, "ok\n") : .text(503, "\(phase)\n")
        case "/readyz":
            let phase = collector.phase
            return phase == .running ? .text(200, "ready\n") : .text(503, "\(phase)\n")
        default:
            return HTTPResponse(
                status: 200,
                headers: [HTTPHeader(name: "Content-Type", value: PrometheusText.contentType)],
                body: Array(CollectorMetrics(collector).exposition.utf8)
            )
        }
    }
}

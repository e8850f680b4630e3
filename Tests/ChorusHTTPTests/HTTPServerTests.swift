import ChorusHTTP
import Foundation
import Synchronization
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

@Suite("HTTPServer serves its handler's answers over real connections")
struct HTTPServerTests {
    /// A server on a free loopback port that echoes the method and path, and records each request.
    private static func echoServer(record: @escaping @Sendable (HTTPRequest) -> Void = { _ in }) throws -> HTTPServer {
        try HTTPServer(address: HTTPBindAddress(host: "127.0.0.1", port: 0)) { request in
            record(request)
            return .text(
                request.path == "/missing" ? 404 : 200, "\(request.method) \(request.path)\n",
                headers: [HTTPHeader(name: "X-Echo", value: "yes")])
        }
    }

    /// Fetches `path` from `server` with URLSession.
    private static func fetch(_ server: HTTPServer, _ path: String, method: String = "GET", body: Data? = nil)
        async throws -> (status: Int, body: String, headers: [AnyHashable: Any])
    {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(server.port)\(path)")!)
        request.httpMethod = method
        request.httpBody = body
        let (data, response) = try await URLSession.shared.data(for: request)
        let http = try #require(response as? HTTPURLResponse)
        return (http.statusCode, String(decoding: data, as: UTF8.self), http.allHeaderFields)
    }

    @Test("port 0 takes a free port, and the handler's status, headers and body reach the client")
    func servesHandlerResponse() async throws {
        let server = try Self.echoServer()
        defer { server.stop() }
        #expect(server.port != 0)

        let found = try await Self.fetch(server, "/metrics?x=1")
        #expect(found.status == 200)
        #expect(found.body == "GET /metrics\n")
        #expect(found.headers["X-Echo"] as? String == "yes")
        #expect(found.headers["Content-Type"] as? String == "text/plain; charset=utf-8")
        let missing = try await Self.fetch(server, "/missing")
        #expect(missing.status == 404)
    }

    @Test("a request body is read and dropped, and the handler still answers")
    func dropsRequestBodies() async throws {
        let seen = Seen()
        let server = try Self.echoServer { request in seen.requests.withLock { $0.append(request) } }
        defer { server.stop() }

        let posted = try await Self.fetch(server, "/healthz", method: "POST", body: Data(repeating: 7, count: 300_000))
        #expect(posted.status == 200)
        #expect(posted.body == "POST /healthz\n")
        #expect(seen.requests.withLock { $0 } == [HTTPRequest(method: "POST", path: "/healthz")])
    }

    @Test("a port in use is an error that names the address and says why")
    func portInUse() throws {
        let first = try Self.echoServer()
        defer { first.stop() }
        let error = #expect(throws: HTTPServerError.self) {
            try HTTPServer(address: HTTPBindAddress(host: "127.0.0.1", port: first.port)) { _ in .text(200, "") }
        }
        #expect(error?.description.contains("127.0.0.1:\(first.port)") == true)
        #expect(error?.detail?.contains("in use") == true, "\(String(describing: error))")
    }

    @Test("a host that does not resolve is an error")
    func unresolvableHost() {
        #expect(throws: HTTPServerError.self) {
            try HTTPServer(address: HTTPBindAddress(host: "no such host.invalid", port: 0)) { _ in .text(200, "") }
        }
    }

    @Test("after stop the port refuses connections, and stopping again does nothing")
    func stopCloses() async throws {
        let server = try Self.echoServer()
        _ = try await Self.fetch(server, "/")
        server.stop()
        server.stop()
        await #expect(throws: (any Error).self) { try await Self.fetch(server, "/") }
    }

    @Test(
        "bind addresses parse as HOST:PORT with IPv6 in brackets",
        arguments: [
            ("127.0.0.1:9464", HTTPBindAddress(host: "127.0.0.1", port: 9464)),
            ("0.0.0.0:0", HTTPBindAddress(host: "0.0.0.0", port: 0)),
            ("localhost:80", HTTPBindAddress(host: "localhost", port: 80)),
            ("[::1]:9464", HTTPBindAddress(host: "::1", port: 9464)),
            ("9464", nil), (":9464", nil), ("::1:9464", nil), ("host:65536", nil), ("host:x", nil), ("[]:1", nil),
        ] as [(String, HTTPBindAddress?)])
    func parsesBindAddresses(text: String, expected: HTTPBindAddress?) {
        #expect(HTTPBindAddress(text) == expected)
        if let expected { #expect(expected.description == text) }
    }

    @Test("an IPv6 loopback address serves too")
    func servesIPv6() throws {
        let server = try HTTPServer(address: HTTPBindAddress(host: "::1", port: 0)) { _ in .text(200, "six\n") }
        defer { server.stop() }
        let reply = try RawConnection.exchange(host: "::1", port: server.port, "GET / HTTP/1.0\r\n\r\n")
        #expect(reply.hasPrefix("HTTP/1.0 200 OK\r\n") || reply.hasPrefix("HTTP/1.1 200 OK\r\n"), "\(reply)")
        #expect(reply.hasSuffix("\r\n\r\nsix\n"), "\(reply)")
    }

    @Test(
        "malformed requests are closed or refused with a status, and the server goes on",
        arguments: [
            ("garbage\r\n\r\n", nil), ("GET\r\n\r\n", nil), ("GET / HTTP/9.9\r\n\r\n", 505),
            ("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n", 400),
            ("GET /\(String(repeating: "a", count: 100_000)) HTTP/1.1\r\nHost: x\r\n\r\n", 414),
        ] as [(String, Int?)])
    func malformedRequests(request: String, expected: Int?) async throws {
        let server = try Self.echoServer()
        defer { server.stop() }
        let reply = try RawConnection.exchange(host: "127.0.0.1", port: server.port, request, timeout: 15)
        let status = reply.split(separator: " ", maxSplits: 2).dropFirst().first.flatMap { Int($0) }
        #expect(status == expected, "\(reply.prefix(200))")
        #expect(try await Self.fetch(server, "/after").status == 200)
    }

    /// The requests a handler saw.
    private final class Seen: Sendable {
        let requests = Mutex<[HTTPRequest]>([])
    }
}

import CMicroHTTPD
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A small HTTP/1.1 server on libmicrohttpd's own thread, answering every request with a
/// handler; the only code in Chorus that calls `MHD_*`.
///
/// The handler runs on libmicrohttpd's polling thread, one request at a time, so it must be
/// quick and must not block on anything the server's owner holds while calling ``stop()``.
/// Request bodies are read and dropped. ``stop()`` (or the last reference going away) closes
/// the listening socket and every connection and waits for the thread to end.
public final class HTTPServer: Sendable {
    /// What the server listens on, as asked.
    public let address: HTTPBindAddress
    /// The port the server listens on: ``address``'s, or the one the system chose for port 0.
    public let port: UInt16
    private let callbacks: Callbacks
    private let daemon: Mutex<Daemon?>

    /// The most connections open at once; more wait in the listen queue.
    public static let connectionLimit: UInt32 = 64
    /// Seconds a connection may stay idle before it is closed.
    public static let connectionTimeout: UInt32 = 10

    /// Starts listening on `address` and serving with `handler`.
    /// - Parameters:
    ///   - address: The host and port; port 0 takes any free port (see ``port``).
    ///   - log: Gets libmicrohttpd's messages about failed connections and the like, one at a
    ///     time, on its thread.
    ///   - handler: Answers each request, on libmicrohttpd's thread.
    /// - Throws: ``HTTPServerError`` when the host does not resolve or the port cannot be bound.
    public init(
        address: HTTPBindAddress,
        log: @escaping @Sendable (String) -> Void = { _ in },
        handler: @escaping @Sendable (HTTPRequest) -> HTTPResponse
    ) throws {
        self.address = address
        let callbacks = Callbacks(handler: handler, log: log)
        self.callbacks = callbacks
        let resolved = try Self.resolve(address)
        defer { freeaddrinfo(resolved) }
        guard let info = resolved?.pointee else { throw HTTPServerError(address, "the host resolved to nothing") }
        var flags = MHD_USE_AUTO_INTERNAL_THREAD.rawValue | MHD_USE_ITC.rawValue | MHD_USE_ERROR_LOG.rawValue
        if info.ai_family == AF_INET6 { flags |= MHD_USE_IPv6.rawValue }
        let context = Unmanaged.passUnretained(callbacks).toOpaque()
        // The daemon holds `context` unretained; `callbacks` outlives it because ``stop()``
        // runs, at the latest, in deinit, before this object's stored properties go.
        guard
            let started = chorus_mhd_start_daemon(
                flags, info.ai_addr, answerRequest, context, logMessage, context,
                Self.connectionLimit, Self.connectionTimeout)
        else {
            throw HTTPServerError(address, "cannot listen", detail: callbacks.lastMessage)
        }
        port = chorus_mhd_bound_port(started)
        daemon = Mutex(Daemon(started))
    }

    deinit {
        stop()
    }

    /// Closes the listening socket and every connection, and waits for the thread to end;
    /// later calls do nothing. Call it from any thread but the handler's.
    public func stop() {
        daemon.withLock { daemon in
            guard let running = daemon else { return }
            MHD_stop_daemon(running.pointer)
            daemon = nil
        }
    }

    /// `address` as `getaddrinfo` resolves it for a passive TCP socket.
    private static func resolve(_ address: HTTPBindAddress) throws -> UnsafeMutablePointer<addrinfo>? {
        var hints = addrinfo()
        hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV
        hints.ai_family = AF_UNSPEC
        #if canImport(Glibc)
            hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        #else
            hints.ai_socktype = SOCK_STREAM
        #endif
        var result: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(address.host, String(address.port), &hints, &result)
        guard status == 0 else {
            throw HTTPServerError(address, "cannot resolve the host", detail: String(cString: gai_strerror(status)))
        }
        return result
    }

    fileprivate static func send(_ response: HTTPResponse, on connection: OpaquePointer) -> MHD_Result {
        var body = response.body
        let created = body.withUnsafeMutableBytes { bytes in
            MHD_create_response_from_buffer(bytes.count, bytes.baseAddress, .RESPMEM_MUST_COPY)
        }
        guard let created else { return .NO }
        defer { MHD_destroy_response(created) }
        for header in response.headers {
            guard MHD_add_response_header(created, header.name, header.value) == .YES else { return .NO }
        }
        return MHD_queue_response(connection, UInt32(clamping: response.status), created)
    }
}

extension HTTPServer {
    /// What the C callbacks reach through their context pointer.
    fileprivate final class Callbacks: Sendable {
        let handler: @Sendable (HTTPRequest) -> HTTPResponse
        private let log: @Sendable (String) -> Void
        private let last = Mutex<String?>(nil)

        init(handler: @escaping @Sendable (HTTPRequest) -> HTTPResponse, log: @escaping @Sendable (String) -> Void) {
            self.handler = handler
            self.log = log
        }

        /// libmicrohttpd's latest message, for the error when it fails to start.
        var lastMessage: String? { last.withLock { $0 } }

        func received(_ message: String) {
            last.withLock { $0 = message }
            log(message)
        }
    }

    /// The running daemon's handle.
    private struct Daemon: @unchecked Sendable {
        // The handle is used only under the server's lock, and libmicrohttpd allows
        // MHD_stop_daemon from any thread but its own.
        let pointer: OpaquePointer

        init(_ pointer: OpaquePointer) {
            self.pointer = pointer
        }
    }
}

/// libmicrohttpd's request callback. It is called once when the headers are in, then once for
/// each piece of body, then once more; the response goes out on the last call.
private func answerRequest(
    context: UnsafeMutableRawPointer?,
    connection: OpaquePointer?,
    url: UnsafePointer<CChar>?,
    method: UnsafePointer<CChar>?,
    version: UnsafePointer<CChar>?,
    uploadData: UnsafePointer<CChar>?,
    uploadSize: UnsafeMutablePointer<Int>?,
    requestState: UnsafeMutablePointer<UnsafeMutableRawPointer?>?
) -> MHD_Result {
    guard let context, let connection, let url, let method, let uploadSize, let requestState else { return .NO }
    if requestState.pointee == nil {
        // Any non-null value marks the request as seen; libmicrohttpd never frees it.
        requestState.pointee = UnsafeMutableRawPointer(bitPattern: 1)
        return .YES
    }
    if uploadSize.pointee != 0 {
        uploadSize.pointee = 0
        return .YES
    }
    let callbacks = Unmanaged<HTTPServer.Callbacks>.fromOpaque(context).takeUnretainedValue()
    let request = HTTPRequest(method: String(cString: method), path: String(cString: url))
    return HTTPServer.send(callbacks.handler(request), on: connection)
}

/// libmicrohttpd's log callback: a printf format and its arguments.
private func logMessage(context: UnsafeMutableRawPointer?, format: UnsafePointer<CChar>?, arguments: CVaListPointer?) {
    guard let context, let format, let arguments else { return }
    var buffer = [CChar](repeating: 0, count: 512)
    _ = vsnprintf(&buffer, buffer.count, format, arguments)
    let message = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    let trimmed = message.hasSuffix("\n") ? String(message.dropLast()) : message
    Unmanaged<HTTPServer.Callbacks>.fromOpaque(context).takeUnretainedValue().received(trimmed)
}

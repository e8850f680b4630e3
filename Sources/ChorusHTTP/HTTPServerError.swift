/// An HTTP server that could not start: the address, what went wrong, and libmicrohttpd's
/// own words when it gave any.
public struct HTTPServerError: Error, CustomStringConvertible, Sendable {
    /// The address the server was to listen on.
    public let address: HTTPBindAddress
    /// What went wrong, such as `cannot resolve the host`.
    public let message: String
    /// libmicrohttpd's last log message before the failure, such as `Failed to bind to port 9464:
    /// Address already in use`.
    public let detail: String?

    init(_ address: HTTPBindAddress, _ message: String, detail: String? = nil) {
        self.address = address
        self.message = message
        self.detail = detail
    }

    /// The error in one line, naming the address.
    public var description: String {
        let base = "HTTP on \(address): \(message)"
        return detail.map { "\(base) (\($0))" } ?? base
    }
}

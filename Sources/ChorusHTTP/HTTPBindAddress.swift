/// Where an HTTP server listens: a host (a name or a numeric IPv4 or IPv6 address) and a port.
///
/// Written `HOST:PORT`, with an IPv6 address in brackets (`[::1]:9464`). Port 0 asks for any
/// free port; ``HTTPServer/port`` tells which one the server got.
public struct HTTPBindAddress: Sendable, Hashable, CustomStringConvertible {
    /// The host name or numeric address, without brackets.
    public var host: String
    /// The port; 0 for any free one.
    public var port: UInt16

    /// Creates an address.
    public init(host: String, port: UInt16) {
        self.host = host
        self.port = port
    }

    /// Parses `HOST:PORT` or `[IPV6]:PORT`; `nil` when `text` is neither.
    public init?(_ text: String) {
        guard let colon = text.lastIndex(of: ":"), let port = UInt16(text[text.index(after: colon)...]) else {
            return nil
        }
        var host = text[..<colon]
        if host.hasPrefix("[") && host.hasSuffix("]") {
            host = host.dropFirst().dropLast()
        } else if host.contains(":") {
            return nil
        }
        guard !host.isEmpty else { return nil }
        self.init(host: String(host), port: port)
    }

    /// The address as `HOST:PORT`, with an IPv6 address in brackets.
    public var description: String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }
}

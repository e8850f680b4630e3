/// A request as a handler sees it: the method and the path, without the query string.
///
/// Request bodies are read and dropped: nothing served here takes one.
public struct HTTPRequest: Sendable, Hashable {
    /// The method, such as `GET`.
    public var method: String
    /// The path, such as `/metrics`, without the query string.
    public var path: String

    /// Creates a request.
    public init(method: String, path: String) {
        self.method = method
        self.path = path
    }
}

/// What a handler answers: a status, headers and a body, sent with a `Content-Length`.
public struct HTTPResponse: Sendable, Hashable {
    /// The status code, such as 200.
    public var status: Int
    /// Header fields besides `Content-Length`, which the server sets.
    public var headers: [HTTPHeader]
    /// The body.
    public var body: [UInt8]

    /// Creates a response.
    public init(status: Int, headers: [HTTPHeader] = [], body: [UInt8]) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// A `text/plain` response.
    public static func text(_ status: Int, _ text: String, headers: [HTTPHeader] = []) -> HTTPResponse {
        HTTPResponse(
            status: status,
            headers: [HTTPHeader(name: "Content-Type", value: "text/plain; charset=utf-8")] + headers,
            body: Array(text.utf8)
        )
    }
}

/// One header field of a response.
public struct HTTPHeader: Sendable, Hashable {
    /// The field name, such as `Content-Type`.
    public var name: String
    /// The field value.
    public var value: String

    /// Creates a header field.
    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}

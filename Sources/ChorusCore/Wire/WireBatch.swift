/// Gathers the bytes of whole messages into a relay's batch frame (`protocol.md`,
/// section 9): `{"v":1,"kind":"batch","relay":"ID","messages":[M1,M2,…]}`.
///
/// Each message goes in as the bytes it arrived with, never re-encoded, so the collector
/// upstream decodes exactly what the rank sent.
public struct WireBatch: Sendable {
    /// The relay's id.
    public let relay: String
    /// The largest frame it builds.
    public let maxBytes: Int
    /// Messages in the frame being built.
    public private(set) var count = 0
    private var frame: [UInt8] = []
    private let header: [UInt8]
    private static let footer = Array("]}".utf8)

    /// Starts an empty batch.
    /// - Parameters:
    ///   - relay: the relay's id, 1–64 characters from `A-Z a-z 0-9 . _ -`.
    ///   - maxBytes: the largest frame to build (the collector's message size limit).
    public init(relay: String, maxBytes: Int = WireLimits().maxMessageBytes) {
        self.relay = relay
        self.maxBytes = maxBytes
        header = Array(#"{"v":1,"kind":"batch","relay":"\#(relay)","messages":["#.utf8)
        frame = header
    }

    /// Whether the batch holds no message.
    public var isEmpty: Bool { count == 0 }

    /// The bytes the frame would take with a message of `size` bytes added.
    public func size(adding size: Int) -> Int {
        frame.count + (isEmpty ? 0 : 1) + size + Self.footer.count
    }

    /// Whether a message of `size` bytes can go into any batch at all; a larger one must be
    /// sent alone, as itself.
    public func canHold(_ size: Int) -> Bool {
        header.count + size + Self.footer.count <= maxBytes
    }

    /// Adds one message: the bytes of one JSON object that decoded as a message. The caller
    /// checks ``size(adding:)`` against ``maxBytes`` first.
    public mutating func append(_ message: UnsafeRawBufferPointer) {
        if !isEmpty { frame.append(UInt8(ascii: ",")) }
        frame.append(contentsOf: message)
        count += 1
    }

    /// The finished frame; the batch starts empty again.
    public mutating func take() -> [UInt8] {
        var finished = frame
        finished.append(contentsOf: Self.footer)
        frame = header
        count = 0
        return finished
    }
}

/// Turns the bytes of one ZeroMQ frame into a ``WireMessage``, or says precisely why not.
///
/// Decoding is strict about what the protocol requires and lenient about what it does not
/// mention: unknown fields are ignored, so that senders may add fields within a version.
public struct WireDecoder: Sendable {
    /// The limits enforced.
    public var limits: WireLimits

    /// Creates a decoder enforcing `limits`.
    public init(limits: WireLimits = WireLimits()) {
        self.limits = limits
    }

    /// Decodes one message.
    /// - Throws: ``WireError`` naming the field or key at fault; a relay's batch is refused
    ///   here (``decodeFrame(_:)`` takes it).
    public func decode(_ bytes: UnsafeRawBufferPointer) throws(WireError) -> WireMessage {
        switch try decodeFrame(bytes) {
        case .message(let message):
            return message
        case .batch:
            throw WireError(.unknownKind, "a batch holds messages from a relay; only a collector takes one")
        }
    }

    /// Decodes one ZeroMQ frame: a message, or a relay's batch of messages (`protocol.md`,
    /// section 9), each of which decodes, or fails, on its own.
    /// - Throws: ``WireError`` for a frame that is neither.
    public func decodeFrame(_ bytes: UnsafeRawBufferPointer) throws(WireError) -> WireFrame {
        guard bytes.count <= limits.maxMessageBytes else {
            throw WireError(.invalidField, "message of \(bytes.count) bytes exceeds \(limits.maxMessageBytes)")
        }
        let document: JSONValue
        do {
            var jsonLimits = JSONLimits()
            jsonLimits.maxBytes = limits.maxMessageBytes
            // A message's own fields and a batch's list around it; `data` keeps its limit.
            jsonLimits.maxDepth = limits.maxDataDepth + 4
            document = try JSONParser.parse(bytes, limits: jsonLimits)
        } catch {
            throw WireError(.malformedJSON, error.description)
        }
        guard case .object(let object) = document else {
            throw WireError(.malformedJSON, "a message must be a JSON object")
        }
        if case .string("batch")? = object["kind"] {
            return try batch(Fields(object))
        }
        return .message(try message(object))
    }

    /// Decodes one frame from an array of bytes.
    public func decodeFrame(_ bytes: [UInt8]) throws(WireError) -> WireFrame {
        let result: Result<WireFrame, WireError> = bytes.withUnsafeBytes { buffer in
            Result { () throws(WireError) in try decodeFrame(buffer) }
        }
        return try result.get()
    }

    private func message(_ object: JSONObject) throws(WireError) -> WireMessage {
        let fields = Fields(object)
        do {
            return try decode(fields)
        } catch {
            // Name the sender where the message named it, so that rejections can be told apart.
            var attributed = error
            attributed.sender = try? sender(fields)
            // Only a record of this version: a newer one may be one a newer collector takes.
            if case .string("log")? = object["kind"], case .integer(WireMessage.protocolVersion)? = object["v"],
                case .integer(let number)? = object["seq"], number >= 1
            {
                attributed.sequenceNumber = number
            }
            throw attributed
        }
    }

    private func batch(_ fields: Fields) throws(WireError) -> WireFrame {
        guard case .integer(WireMessage.protocolVersion)? = fields.object["v"] else {
            throw WireError(.unsupportedVersion, "a batch must have \"v\": 1 (this collector speaks 1)")
        }
        let relay = try fields.string("relay")
        try checkIdentifier(relay, field: "relay")
        guard case .array(let elements)? = fields.object["messages"] else {
            throw WireError(.invalidField, "field \"messages\" of a batch must be a list of messages")
        }
        let messages = elements.map { element -> Result<WireMessage, WireError> in
            guard case .object(let object) = element else {
                return .failure(WireError(.malformedJSON, "an entry of a batch's \"messages\" is not a JSON object"))
            }
            if case .string("batch")? = object["kind"] {
                return .failure(WireError(.unknownKind, "a batch may not hold a batch"))
            }
            return Result { () throws(WireError) in try message(object) }
        }
        return .batch(relay: relay, messages)
    }

    /// Decodes one message from an array of bytes.
    public func decode(_ bytes: [UInt8]) throws(WireError) -> WireMessage {
        let result: Result<WireMessage, WireError> = bytes.withUnsafeBytes { buffer in
            Result { () throws(WireError) in try decode(buffer) }
        }
        return try result.get()
    }

    private func decode(_ fields: Fields) throws(WireError) -> WireMessage {
        guard let version = fields.object["v"] else {
            throw WireError(.missingField, "missing field \"v\" (the protocol version; this collector speaks 1)")
        }
        guard case .integer(let number) = version, number == WireMessage.protocolVersion else {
            throw WireError(
                .unsupportedVersion,
                "unsupported protocol version \(Fields.describe(version)) (this collector speaks 1)"
            )
        }
        let kind = try fields.string("kind")
        let sender = try self.sender(fields)
        switch kind {
        case "log":
            return .log(
                LogRecord(
                    sender: sender,
                    attempt: try fields.optionalInteger("attempt", in: 0...Int64.max),
                    sequenceNumber: try fields.integer("seq", in: 1...Int64.max),
                    step: try fields.integer("step", in: 0...Int64.max),
                    timestamp: try fields.number("ts"),
                    values: try values(fields, field: "data")
                )
            )
        case "hello":
            let client = fields.object["client"].flatMap { value -> JSONObject? in
                if case .object(let object) = value { return object }
                return nil
            }
            return .hello(
                Hello(
                    sender: sender,
                    worldSize: Int32(try fields.integer("world_size", in: 1...(limits.maxRank + 1))),
                    attempt: try fields.optionalInteger("attempt", in: 0...Int64.max) ?? 0,
                    resumeStep: try fields.optionalInteger("resume_step", in: 0...Int64.max),
                    startTime: try fields.number("start_time"),
                    clientName: client.flatMap { Fields.stringValue($0["name"]) },
                    clientVersion: client.flatMap { Fields.stringValue($0["version"]) }
                )
            )
        case "heartbeat":
            return .heartbeat(
                Heartbeat(
                    sender: sender,
                    timestamp: try fields.optionalNumber("ts") ?? 0,
                    lastSequenceNumber: try fields.optionalInteger("last_seq", in: 0...Int64.max)
                )
            )
        case "end":
            return .end(
                End(
                    sender: sender,
                    timestamp: try fields.optionalNumber("ts") ?? 0,
                    lastSequenceNumber: try fields.integer("last_seq", in: 0...Int64.max)
                )
            )
        case "define":
            let reduceName = try fields.optionalString("reduce") ?? "mean"
            guard let reduce = ReduceOperation(rawValue: reduceName) else {
                throw WireError(.invalidField, "field \"reduce\" is \"\(reduceName)\"; expected mean, sum, min or max")
            }
            let goalName = try fields.optionalString("goal")
            let goal = goalName.flatMap(SummaryGoal.init(rawValue:))
            if let goalName, goal == nil {
                throw WireError(.invalidField, "field \"goal\" is \"\(goalName)\"; expected min or max")
            }
            let pattern = try fields.string("metric")
            guard !pattern.isEmpty, pattern.utf8.count <= limits.maxKeyBytes else {
                throw WireError(.invalidField, "field \"metric\" must be 1 to \(limits.maxKeyBytes) bytes")
            }
            return .define(MetricDefinition(sender: sender, pattern: pattern, reduce: reduce, goal: goal))
        case "summary":
            return .summary(UserSummary(sender: sender, values: try values(fields, field: "data")))
        case "skip":
            let first = try fields.integer("first", in: 1...Int64.max)
            let last = try fields.integer("last", in: first...Int64.max)
            let reason = try fields.optionalString("reason")
            if let reason, reason.utf8.count > limits.maxKeyBytes {
                throw WireError(.invalidField, "field \"reason\" is longer than \(limits.maxKeyBytes) bytes")
            }
            return .skip(SkippedRecords(sender: sender, sequenceNumbers: first...last, reason: reason))
        default:
            throw WireError(
                .unknownKind,
                "unknown message kind \"\(kind)\"; expected hello, log, heartbeat, end, define, summary or skip"
            )
        }
    }

    private func sender(_ fields: Fields) throws(WireError) -> Sender {
        let run = try fields.string("run")
        try checkIdentifier(run, field: "run")
        let incarnation = try fields.string("inc")
        try checkIdentifier(incarnation, field: "inc")
        let rank = try fields.integer("rank", in: 0...limits.maxRank)
        return Sender(run: run, rank: Int32(rank), incarnation: incarnation)
    }

    private func checkIdentifier(_ identifier: String, field: String) throws(WireError) {
        let utf8 = identifier.utf8
        guard !utf8.isEmpty, utf8.count <= limits.maxIdentifierLength,
            utf8.allSatisfy({ Self.isIdentifierByte($0) })
        else {
            throw WireError(
                .invalidField,
                "field \"\(field)\" must be 1 to \(limits.maxIdentifierLength) characters of A-Z a-z 0-9 . _ -"
            )
        }
    }

    private static func isIdentifierByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"):
            true
        default:
            false
        }
    }

    private func values(_ fields: Fields, field: String) throws(WireError) -> [MetricEntry] {
        guard let value = fields.object[field] else {
            throw WireError(.missingField, "missing field \"\(field)\"")
        }
        guard case .object(let data) = value else {
            throw WireError(.invalidField, "field \"\(field)\" must be an object, not \(Fields.describe(value))")
        }
        let flattened: [(key: String, value: JSONValue)]
        do {
            var flattenLimits = FlattenLimits()
            flattenLimits.maxValues = limits.maxValuesPerMessage
            flattenLimits.maxKeyBytes = limits.maxKeyBytes
            flattenLimits.maxDepth = limits.maxDataDepth
            flattened = try flattenMetrics(data, limits: flattenLimits)
        } catch {
            throw WireError(.invalidData, "field \"\(field)\": \(error.description)")
        }
        return flattened.map { MetricEntry($0.key, MetricValue(json: $0.value)) }
    }
}

extension MetricValue {
    /// The metric value of a decoded JSON value: numbers stay numbers, the rest is kept as text.
    public init(json: JSONValue) {
        switch json {
        case .integer(let integer): self = .integer(integer)
        case .double(let double): self = .double(double)
        default: self = .other(JSONWriter.compactText(json))
        }
    }
}

/// Typed access to a message's top-level fields, with errors that name the field.
private struct Fields {
    let object: JSONObject

    init(_ object: JSONObject) {
        self.object = object
    }

    func string(_ name: String) throws(WireError) -> String {
        guard let value = try optionalString(name) else {
            throw WireError(.missingField, "missing field \"\(name)\"")
        }
        return value
    }

    func optionalString(_ name: String) throws(WireError) -> String? {
        guard let value = object[name], value != .null else { return nil }
        guard case .string(let string) = value else {
            throw WireError(.invalidField, "field \"\(name)\" must be a string, not \(Self.describe(value))")
        }
        return string
    }

    func integer(_ name: String, in range: ClosedRange<Int64>) throws(WireError) -> Int64 {
        guard let value = try optionalInteger(name, in: range) else {
            throw WireError(.missingField, "missing field \"\(name)\"")
        }
        return value
    }

    func optionalInteger(_ name: String, in range: ClosedRange<Int64>) throws(WireError) -> Int64? {
        guard let value = object[name], value != .null else { return nil }
        guard case .integer(let integer) = value else {
            throw WireError(.invalidField, "field \"\(name)\" must be an integer, not \(Self.describe(value))")
        }
        guard range.contains(integer) else {
            throw WireError(
                .invalidField,
                "field \"\(name)\" is \(integer); expected \(range.lowerBound) to \(range.upperBound)"
            )
        }
        return integer
    }

    func number(_ name: String) throws(WireError) -> Double {
        guard let value = try optionalNumber(name) else {
            throw WireError(.missingField, "missing field \"\(name)\"")
        }
        return value
    }

    func optionalNumber(_ name: String) throws(WireError) -> Double? {
        guard let value = object[name], value != .null else { return nil }
        switch value {
        case .integer(let integer): return Double(integer)
        case .double(let double) where double.isFinite: return double
        default:
            throw WireError(.invalidField, "field \"\(name)\" must be a finite number, not \(Self.describe(value))")
        }
    }

    static func stringValue(_ value: JSONValue?) -> String? {
        if case .string(let string)? = value { return string }
        return nil
    }

    static func describe(_ value: JSONValue) -> String {
        let text = JSONWriter.compactText(value)
        return text.count > 40 ? String(text.prefix(40)) + "…" : text
    }
}

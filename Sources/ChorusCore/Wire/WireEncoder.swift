/// Writes ``WireMessage``s as the protocol's JSON, reusing one buffer.
///
/// Clients call it on their hot path; it writes fields directly, building no JSON tree.
public struct WireEncoder: Sendable {
    private var writer = JSONWriter(capacity: 1_024)

    /// Creates an encoder.
    public init() {}

    /// The bytes of `message`, valid until the next call.
    public mutating func encode(_ message: WireMessage) -> [UInt8] {
        writer.reset()
        writer.beginObject()
        writer.appendKey("v")
        writer.appendInteger(WireMessage.protocolVersion)
        switch message {
        case .hello(let hello):
            header("hello", hello.sender)
            writer.appendKey("world_size")
            writer.appendInteger(Int64(hello.worldSize))
            writer.appendKey("attempt")
            writer.appendInteger(hello.attempt)
            writer.appendKey("resume_step")
            if let resumeStep = hello.resumeStep { writer.appendInteger(resumeStep) } else { writer.appendNull() }
            writer.appendKey("start_time")
            writer.appendDouble(hello.startTime)
            if hello.clientName != nil || hello.clientVersion != nil {
                writer.appendKey("client")
                writer.beginObject()
                if let name = hello.clientName {
                    writer.appendKey("name")
                    writer.appendString(name)
                }
                if let version = hello.clientVersion {
                    writer.appendKey("version")
                    writer.appendString(version)
                }
                writer.endObject()
            }
        case .log(let record):
            header("log", record.sender)
            if let attempt = record.attempt {
                writer.appendKey("attempt")
                writer.appendInteger(attempt)
            }
            writer.appendKey("seq")
            writer.appendInteger(record.sequenceNumber)
            writer.appendKey("step")
            writer.appendInteger(record.step)
            writer.appendKey("ts")
            writer.appendDouble(record.timestamp)
            writer.appendKey("data")
            appendValues(record.values)
        case .heartbeat(let heartbeat):
            header("heartbeat", heartbeat.sender)
            writer.appendKey("ts")
            writer.appendDouble(heartbeat.timestamp)
            if let last = heartbeat.lastSequenceNumber {
                writer.appendKey("last_seq")
                writer.appendInteger(last)
            }
        case .end(let end):
            header("end", end.sender)
            writer.appendKey("ts")
            writer.appendDouble(end.timestamp)
            writer.appendKey("last_seq")
            writer.appendInteger(end.lastSequenceNumber)
        case .define(let definition):
            header("define", definition.sender)
            writer.appendKey("metric")
            writer.appendString(definition.pattern)
            writer.appendKey("reduce")
            writer.appendString(definition.reduce.rawValue)
            if let goal = definition.goal {
                writer.appendKey("goal")
                writer.appendString(goal.rawValue)
            }
        case .summary(let summary):
            header("summary", summary.sender)
            writer.appendKey("data")
            appendValues(summary.values)
        case .skip(let skipped):
            header("skip", skipped.sender)
            writer.appendKey("first")
            writer.appendInteger(skipped.sequenceNumbers.lowerBound)
            writer.appendKey("last")
            writer.appendInteger(skipped.sequenceNumbers.upperBound)
            if let reason = skipped.reason {
                writer.appendKey("reason")
                writer.appendString(reason)
            }
        }
        writer.endObject()
        return writer.bytes
    }

    private mutating func header(_ kind: String, _ sender: Sender) {
        writer.appendKey("kind")
        writer.appendString(kind)
        writer.appendKey("run")
        writer.appendString(sender.run)
        writer.appendKey("rank")
        writer.appendInteger(Int64(sender.rank))
        writer.appendKey("inc")
        writer.appendString(sender.incarnation)
    }

    private mutating func appendValues(_ values: [MetricEntry]) {
        writer.beginObject()
        for entry in values {
            writer.appendKey(entry.key)
            switch entry.value {
            case .integer(let integer):
                writer.appendInteger(integer)
            case .double(let double):
                writer.appendDouble(double)
            case .other(let text):
                // Kept as its JSON text; parse it back rather than trust it blindly.
                writer.append((try? JSONParser.parse(text)) ?? .string(text))
            }
        }
        writer.endObject()
    }
}

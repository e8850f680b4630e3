import Testing

@testable import ChorusCore

@Suite("Relay batches: many messages in one frame, each decoded on its own")
struct WireBatchTests {
    private let log =
        #"{"v": 1, "kind": "log", "run": "job", "rank": 3, "inc": "i", "seq": 7, "step": 2, "#
        + #""ts": 1.5, "data": {"loss": NaN, "n": 18446744073709551616}}"#
    private let hello =
        #"{"v": 1, "kind": "hello", "run": "job", "rank": 3, "inc": "i", "world_size": 4, "#
        + #""start_time": 1.0}"#

    private func frame(_ messages: [String], relay: String = "node-1") -> [UInt8] {
        var batch = WireBatch(relay: relay)
        for message in messages {
            Array(message.utf8).withUnsafeBytes { batch.append($0) }
        }
        return batch.take()
    }

    @Test("a batch decodes to the very messages it holds, in order")
    func roundTrip() throws {
        let decoder = WireDecoder()
        guard case .batch(let relay, let messages) = try decoder.decodeFrame(frame([hello, log])) else {
            Issue.record("not a batch")
            return
        }
        #expect(relay == "node-1")
        let alone = try [hello, log].map { try decoder.decode(Array($0.utf8)).comparable }
        #expect(try messages.map { try $0.get().comparable } == alone)
    }

    @Test("a bad entry is refused alone; the rest of the batch stands")
    func badEntry() throws {
        let entries = [hello, #"{"v": 1, "kind": "log", "run": "job"}"#, "[1, 2]", frameText([log]), log]
        guard case .batch(_, let messages) = try WireDecoder().decodeFrame(frame(entries)) else {
            Issue.record("not a batch")
            return
        }
        let codes = messages.map { result -> String in
            switch result {
            case .success: "ok"
            case .failure(let error): error.code.description
            }
        }
        #expect(codes == ["ok", "missing-field", "malformed-json", "unknown-kind", "ok"])
    }

    @Test("a batch that is not one is refused whole, and a lone decode refuses any batch")
    func refused() {
        let decoder = WireDecoder()
        for text in [
            #"{"v": 2, "kind": "batch", "relay": "r", "messages": []}"#,
            #"{"v": 1, "kind": "batch", "relay": "r/x", "messages": []}"#,
            #"{"v": 1, "kind": "batch", "relay": "r", "messages": {}}"#,
        ] {
            #expect(throws: WireError.self, "\(text)") { try decoder.decodeFrame(Array(text.utf8)) }
        }
        #expect(throws: WireError.self) { try decoder.decode(frame([log])) }
    }

    @Test("a batch knows when the next message would pass the size limit")
    func sizes() {
        var batch = WireBatch(relay: "r", maxBytes: 200)
        #expect(batch.canHold(150))
        #expect(!batch.canHold(190))
        Array(log.utf8).withUnsafeBytes { batch.append($0) }
        #expect(batch.size(adding: log.utf8.count) > 200)
        #expect(
            String(decoding: batch.take(), as: UTF8.self) == #"{"v":1,"kind":"batch","relay":"r","messages":["# + log
                + "]}")
        #expect(batch.isEmpty)
    }

    private func frameText(_ messages: [String]) -> String {
        String(decoding: frame(messages), as: UTF8.self)
    }
}

import ChorusCore
import Testing

@testable import ChorusClient

@Suite("DeliveryLedger: what a client keeps until the collector has it, and what it sends again")
struct DeliveryLedgerTests {
    private let sender = Sender(run: "job", rank: 1, incarnation: "inc")

    private func ack(_ durable: Int64, ended: Bool = false, collector: String = "first") -> Acknowledgement {
        Acknowledgement(sender: sender, durableSequenceNumber: durable, ended: ended, collector: collector)
    }

    private func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    private func text(_ messages: [[UInt8]]) -> [String] { messages.map { String(decoding: $0, as: UTF8.self) } }

    /// A ledger that has sent a hello, two defines of one pattern, a summary and records 1…`records`.
    private func ledger(records: Int64, capacity: Int = 100) -> DeliveryLedger {
        var ledger = DeliveryLedger(capacity: capacity)
        ledger.sent(.hello(bytes("hello")), at: 0)
        ledger.sent(.define(pattern: "val/*", bytes("define val/* min")), at: 0)
        ledger.sent(.define(pattern: "val/*", bytes("define val/* max")), at: 0)
        ledger.sent(.summary(key: "best", bytes("summary best 1")), at: 0)
        ledger.sent(.summary(key: "best", bytes("summary best 2")), at: 0)
        ledger.sent(.transient(bytes("heartbeat")), at: 0)
        for sequenceNumber in 1...records {
            ledger.sent(.record(sequenceNumber: sequenceNumber, bytes("record \(sequenceNumber)")), at: 0)
        }
        return ledger
    }

    @Test("records stay until an acknowledgement covers them")
    func retention() {
        var ledger = ledger(records: 10)
        #expect(ledger.retainedCount == 10)
        let first = ledger.acknowledge(ack(4), at: 1)
        #expect(first.isEmpty, "a first acknowledgement asks for nothing")
        #expect(ledger.retainedCount == 6)
        _ = ledger.acknowledge(ack(3), at: 2)
        #expect(ledger.durableSequenceNumber == 4, "an older acknowledgement of the same collector changes nothing")
        _ = ledger.acknowledge(ack(10), at: 3)
        #expect(ledger.retainedCount == 0)
        #expect(!ledger.isConfirmed, "no end was sent yet")
    }

    @Test(
        "a restarted collector gets the hello, latest definitions and summary values, missing records, then the end"
    )
    func resendAfterRestart() {
        var ledger = ledger(records: 6)
        ledger.sent(.end(lastSequenceNumber: 6, bytes("end")), at: 0)
        _ = ledger.acknowledge(ack(2), at: 1)
        let again = ledger.acknowledge(ack(4, collector: "second"), at: 2)
        #expect(
            text(again) == [
                "hello", "define val/* max", "summary best 2", "record 5", "record 6", "end",
            ]
        )
        #expect(ledger.resent == 6)
        _ = ledger.acknowledge(ack(6, ended: true, collector: "second"), at: 3)
        #expect(ledger.isConfirmed)
    }

    @Test("records lost on the way are sent again once acknowledgements keep coming without progress")
    func resendAfterStall() {
        var ledger = ledger(records: 3)
        _ = ledger.acknowledge(ack(1), at: 1)
        let early = ledger.resendIfStalled(at: 4)
        #expect(early.isEmpty, "too early")
        _ = ledger.acknowledge(ack(1), at: 5.5)
        let stalled = ledger.resendIfStalled(at: 6)
        #expect(text(stalled) == ["hello", "define val/* max", "summary best 2", "record 2", "record 3"])
        let soon = ledger.resendIfStalled(at: 6.5)
        #expect(soon.isEmpty, "one resend per stall interval")
    }

    @Test("while nothing progresses, each resend waits twice as long as the last, up to 40 s; progress resets it")
    func resendBackoff() {
        var ledger = ledger(records: 3)
        var resentAt: [Double] = []
        for tenth in 10...1_500 {
            let now = Double(tenth) / 10
            _ = ledger.acknowledge(ack(1), at: now)
            if !ledger.resendIfStalled(at: now).isEmpty { resentAt.append(now) }
        }
        #expect(resentAt == [6, 16, 36, 76, 116], "the durable sequence number last moved at 1 s")
        _ = ledger.acknowledge(ack(2), at: 150.5)
        var afterProgress: Double?
        for tenth in 1_506...1_700 where afterProgress == nil {
            let now = Double(tenth) / 10
            _ = ledger.acknowledge(ack(2), at: now)
            if !ledger.resendIfStalled(at: now).isEmpty { afterProgress = now }
        }
        #expect(afterProgress == 155.5, "progress brings the wait back to one stall interval")
    }

    @Test("nothing is sent again while the collector is silent: it is away, and its restart will ask")
    func noResendWhileSilent() {
        var ledger = ledger(records: 3)
        _ = ledger.acknowledge(ack(1), at: 1)
        let again = ledger.resendIfStalled(at: 20)
        #expect(again.isEmpty)
    }

    @Test("nothing is sent again while the collector makes progress, however slowly")
    func noResendWhileProgressing() {
        var ledger = ledger(records: 100)
        for second in 1...20 {
            _ = ledger.acknowledge(ack(Int64(second)), at: Double(second))
            let again = ledger.resendIfStalled(at: Double(second))
            #expect(again.isEmpty)
        }
    }

    @Test("past its capacity the ledger lets the oldest records go, counted as unconfirmed")
    func capacity() {
        var ledger = ledger(records: 10, capacity: 4)
        #expect(ledger.retainedCount == 4)
        #expect(ledger.unconfirmed == 6)
        let again =
            ledger.acknowledge(ack(0, collector: "first"), at: 1)
            + ledger.acknowledge(ack(0, collector: "second"), at: 2)
        #expect(text(again).filter { $0.hasPrefix("record") } == ["record 7", "record 8", "record 9", "record 10"])
        ledger.sent(.end(lastSequenceNumber: 10, bytes("end")), at: 3)
        _ = ledger.acknowledge(ack(10, ended: true, collector: "second"), at: 4)
        #expect(ledger.isConfirmed, "the durable sequence number covers the records let go too")
    }
}

import Testing

@testable import ChorusCore

@Suite("Acknowledgement: the collector's word on what is committed")
struct AcknowledgementTests {
    private let ack = Acknowledgement(
        sender: Sender(run: "job-42", rank: 3, incarnation: "5f0c"),
        durableSequenceNumber: 1_200,
        ended: true,
        collector: "8c1f"
    )

    @Test("it reads back what it writes, and the topic ends the incarnation id")
    func roundTrip() {
        #expect(Acknowledgement(decoding: ack.encoded()) == ack)
        #expect(Acknowledgement.topic(for: ack.sender) == "job-42/3/5f0c/")
        #expect(
            String(decoding: ack.encoded(), as: UTF8.self)
                == #"{"v":1,"kind":"ack","run":"job-42","rank":3,"inc":"5f0c","#
                + #""durable_seq":1200,"ended":true,"collector":"8c1f"}"#
        )
    }

    @Test(
        "anything else is no acknowledgement",
        arguments: [
            "", "[]", "{}",
            #"{"v":2,"kind":"ack","run":"a","rank":0,"inc":"i","durable_seq":1,"ended":false,"collector":"c"}"#,
            #"{"v":1,"kind":"log","run":"a","rank":0,"inc":"i","durable_seq":1,"ended":false,"collector":"c"}"#,
            #"{"v":1,"kind":"ack","run":"a","rank":0,"inc":"i","durable_seq":-1,"ended":false,"collector":"c"}"#,
            #"{"v":1,"kind":"ack","run":"a","rank":4294967296,"inc":"i","durable_seq":1,"ended":false,"#
                + #""collector":"c"}"#,
            #"{"v":1,"kind":"ack","run":"a","rank":0,"inc":"i","durable_seq":1,"ended":"no","collector":"c"}"#,
            "\u{FF}\u{FE}",
        ]
    )
    func rejects(text: String) {
        #expect(Acknowledgement(decoding: Array(text.utf8)) == nil)
    }

    @Test(
        "the acknowledgement endpoint pairs with the collector's",
        arguments: [
            ("tcp://127.0.0.1:7700", "tcp://127.0.0.1:7701"), ("tcp://*:7700", "tcp://*:7701"),
            ("tcp://127.0.0.1:*", "tcp://127.0.0.1:*"), ("tcp://[::1]:9000", "tcp://[::1]:9001"),
            ("ipc:///tmp/chorus.sock", "ipc:///tmp/chorus.sock.ack"),
        ]
    )
    func pairing(endpoint: String, paired: String) {
        #expect(Acknowledgement.endpoint(pairedWith: endpoint) == paired)
    }

    @Test("no pairing for a port at the top of the range or a transport without ports")
    func noPairing() {
        #expect(Acknowledgement.endpoint(pairedWith: "tcp://127.0.0.1:65535") == nil)
        #expect(Acknowledgement.endpoint(pairedWith: "udp://127.0.0.1:7700") == nil)
    }
}

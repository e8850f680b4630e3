import ChorusCollector
import ChorusZMQ
import Foundation
import Testing

@Suite("A relay's keys for a CURVE upstream")
struct RelayUpstreamKeysTests {
    @Test("the relay's public key is derived from its secret key, read from a keygen file")
    func derivedFromFile() throws {
        let server = try ZMQCurve.generateKeyPair()
        let relay = try ZMQCurve.generateKeyPair()
        let file = NSTemporaryDirectory() + "chorus-relay-\(UUID().uuidString.prefix(8)).key"
        try "# chorus keygen\n\(relay.secretKey)\n".write(toFile: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: file) }
        let keys = try RelayUpstreamKeys.load(serverPublicKey: server.publicKey, secretKeyFile: file)
        #expect(keys.publicKey == relay.publicKey)
        #expect(keys.serverPublicKey == server.publicKey)
    }

    @Test("a key that is not 40 Z85 characters is refused with a message naming it")
    func malformedKeys() throws {
        let pair = try ZMQCurve.generateKeyPair()
        let cases: [(server: String, secret: String, says: String)] = [
            ("short", pair.secretKey, "upstream's public key"),
            (pair.publicKey, "short", "relay's secret key"),
        ]
        for (server, secret, says) in cases {
            #expect {
                try RelayUpstreamKeys(serverPublicKey: server, secretKey: secret)
            } throws: { error in
                "\(error)".contains(says)
            }
        }
    }
}

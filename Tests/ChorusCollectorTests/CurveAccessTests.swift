import ChorusClient
import ChorusCollector
import ChorusCore
import ChorusStore
import ChorusZMQ
import Foundation
import Testing

@Suite("A collector with CURVE lets in allowed workers only")
struct CurveAccessTests {
    /// A collector on a fresh ipc endpoint, admitting the workers whose public keys are given.
    private func collector(admitting allowed: Set<String>, serverSecret: String, in directory: String) throws
        -> Collector
    {
        var configuration = CollectorConfiguration(
            endpoints: ["ipc://\(directory)/collector.sock"],
            storePath: "\(directory)/store.sqlite"
        )
        configuration.curve = CurveAccess(serverSecretKey: serverSecret, allowedClientKeys: allowed)
        configuration.logger = Logger(minimumLevel: .error)
        let collector = try Collector(configuration: configuration)
        try collector.start()
        return collector
    }

    private func runs(in directory: String) throws -> [String: RunRecord] {
        let runs = try StoreReader(path: "\(directory)/store.sqlite").runs()
        return Dictionary(uniqueKeysWithValues: runs.map { ($0.name, $0) })
    }

    @Test("an allowed worker's records arrive; a worker with another key, or none, gets nothing in")
    func onlyAllowedKeys() throws {
        let directory = NSTemporaryDirectory() + "chorus-curve-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let server = try ZMQCurve.generateKeyPair()
        let allowed = try ZMQCurve.generateKeyPair()
        let stranger = try ZMQCurve.generateKeyPair()
        let collector = try collector(admitting: [allowed.publicKey], serverSecret: server.secretKey, in: directory)
        defer {
            collector.stop()
            collector.waitUntilStopped(timeout: 30)
        }
        let endpoint = collector.boundEndpoints[0]

        let member = try Run(
            runID: "member",
            endpoint: endpoint,
            curve: CurveClientKeys(serverPublicKey: server.publicKey, secretKey: allowed.secretKey)
        )
        for step in 0..<3 { member.log(["loss": .double(Double(step))], step: Int64(step)) }
        #expect(member.finish(timeout: 10))

        let intruder = try Run(
            runID: "intruder",
            endpoint: endpoint,
            curve: CurveClientKeys(serverPublicKey: server.publicKey, secretKey: stranger.secretKey)
        )
        intruder.log(["loss": 1.0], step: 0)
        let plain = try Run(runID: "plaintext", endpoint: endpoint, curve: nil)
        plain.log(["loss": 1.0], step: 0)
        // Neither completes a handshake, so neither can deliver: finish runs out of time.
        #expect(intruder.finish(timeout: 2) == false)
        #expect(plain.finish(timeout: 2) == false)

        collector.sync()
        let stored = try runs(in: directory)
        #expect(stored["member"]?.rows == 3)
        #expect(stored["member"]?.finished == true)
        #expect(stored["intruder"] == nil)
        #expect(stored["plaintext"] == nil)
        #expect(collector.counters.rejected == 0, "refused workers must not even reach the decoder")
    }

    @Test("key files with a wrong key length are refused with the file and line named")
    func malformedKeyFile() throws {
        let directory = NSTemporaryDirectory() + "chorus-curve-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let secret = "\(directory)/collector.key"
        let allowed = "\(directory)/allowed.keys"
        try "\(try ZMQCurve.generateKeyPair().secretKey)\n".write(toFile: secret, atomically: true, encoding: .utf8)
        try "# workers\n\nshort-key\n".write(toFile: allowed, atomically: true, encoding: .utf8)
        #expect {
            try CurveAccess.load(secretKeyFile: secret, allowedKeysFile: allowed)
        } throws: { error in
            "\(error)".contains("allowed.keys:3")
        }
    }
}

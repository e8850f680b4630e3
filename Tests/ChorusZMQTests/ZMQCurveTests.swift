import ChorusZMQ
import Foundation
import Testing

@Suite struct ZMQCurveTests {
    @Test func thisLibzmqSupportsCurve() {
        #expect(ZMQCurve.isAvailable)
    }

    @Test func aKeyPairIsTwoFortyCharacterZ85Keys() throws {
        let (publicKey, secretKey) = try ZMQCurve.generateKeyPair()

        #expect(publicKey.count == 40)
        #expect(secretKey.count == 40)
        #expect(publicKey != secretKey)
        #expect(try ZMQCurve.publicKey(forSecretKey: secretKey) == publicKey)
        #expect(try ZMQCurve.generateKeyPair().publicKey != publicKey)
    }

    @Test func derivingAPublicKeyFromAMalformedSecretKeyThrowsWithoutTheKey() throws {
        let error = try #require(throws: ZMQError.self) { try ZMQCurve.publicKey(forSecretKey: "tooShort") }
        #expect(error.errno == EINVAL)
        #expect(!error.description.contains("tooShort"))
    }

    @Test func aCurveServerAcceptsAClientThatKnowsItsKey() throws {
        let server = try ZMQCurve.generateKeyPair()
        let client = try ZMQCurve.generateKeyPair()
        let context = try ZMQContext()
        let pull = try ZMQSocket(context, type: .pull)
        try pull.setCurveServer(secretKey: server.secretKey)
        try pull.setReceiveTimeout(milliseconds: 5000)
        try pull.bind("tcp://127.0.0.1:*")
        let push = try ZMQSocket(context, type: .push)
        try push.setLinger(milliseconds: 0)
        try push.setCurveClient(
            serverPublicKey: server.publicKey,
            publicKey: client.publicKey,
            secretKey: client.secretKey
        )
        try push.connect(pull.lastEndpoint)

        #expect(try push.send("encrypted"))
        #expect(try pull.receiveBytes() == Array("encrypted".utf8))
    }

    @Test func aCurveServerHearsNothingFromAClientWithTheWrongServerKey() throws {
        let server = try ZMQCurve.generateKeyPair()
        let impostor = try ZMQCurve.generateKeyPair()
        let client = try ZMQCurve.generateKeyPair()
        let context = try ZMQContext()
        let pull = try ZMQSocket(context, type: .pull)
        try pull.setCurveServer(secretKey: server.secretKey)
        try pull.setReceiveTimeout(milliseconds: 300)
        try pull.bind("tcp://127.0.0.1:*")
        let push = try ZMQSocket(context, type: .push)
        try push.setLinger(milliseconds: 0)
        try push.setCurveClient(
            serverPublicKey: impostor.publicKey,
            publicKey: client.publicKey,
            secretKey: client.secretKey
        )
        try push.connect(pull.lastEndpoint)

        _ = try push.send("lost", wait: false)
        #expect(try pull.receiveBytes() == nil)
    }

    @Test func aMalformedCurveKeyIsRejected() throws {
        let context = try ZMQContext()
        let socket = try ZMQSocket(context, type: .pull)

        let error = try #require(throws: ZMQError.self) { try socket.setCurveServer(secretKey: "short") }
        #expect(error.errno == EINVAL)
        #expect(
            error.description == "zmq_setsockopt(\"ZMQ_CURVE_SECRETKEY\") failed: Invalid argument (errno \(EINVAL))")
    }
}

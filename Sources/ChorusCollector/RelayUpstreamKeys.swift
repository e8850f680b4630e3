import ChorusZMQ

/// What a relay needs to reach an upstream collector that runs with CURVE (`protocol.md`,
/// section 7): the collector's public key, and the relay's own key pair, whose public half
/// the collector's allowed keys list, as a worker's would be.
public struct RelayUpstreamKeys: Sendable {
    /// The upstream collector's public key (Z85).
    public var serverPublicKey: String
    /// The relay's public key (Z85), derived from its secret key.
    public var publicKey: String
    /// The relay's secret key (Z85).
    public var secretKey: String

    /// Creates keys, deriving the relay's public key.
    /// - Throws: ``CurveAccessError`` if either key is not a Z85 key.
    public init(serverPublicKey: String, secretKey: String) throws {
        guard serverPublicKey.utf8.count == ZMQCurve.keyLength else {
            throw CurveAccessError("the upstream's public key is 40 Z85 characters, not \(serverPublicKey.utf8.count)")
        }
        do {
            publicKey = try ZMQCurve.publicKey(forSecretKey: secretKey)
        } catch {
            throw CurveAccessError("the relay's secret key is not a 40-character Z85 key: \(error)")
        }
        self.serverPublicKey = serverPublicKey
        self.secretKey = secretKey
    }

    /// Keys with the relay's secret key read from `secretKeyFile`, as `chorus keygen` writes it.
    /// - Throws: ``CurveAccessError`` naming the file and what is wrong with it.
    public static func load(serverPublicKey: String, secretKeyFile: String) throws -> RelayUpstreamKeys {
        let secret = try CurveAccess.keys(in: secretKeyFile)
        guard secret.count == 1 else {
            throw CurveAccessError("\(secretKeyFile) must hold exactly one secret key, not \(secret.count)")
        }
        return try RelayUpstreamKeys(serverPublicKey: serverPublicKey, secretKey: secret[0])
    }

    /// Makes `socket` connect to the upstream with these keys.
    func secure(_ socket: borrowing ZMQSocket) throws(ZMQError) {
        try socket.setCurveClient(serverPublicKey: serverPublicKey, publicKey: publicKey, secretKey: secretKey)
    }
}

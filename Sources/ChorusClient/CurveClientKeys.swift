import ChorusZMQ
import Foundation

/// The keys a worker needs to reach a collector that runs with CURVE: the collector's
/// public key, and the worker's own key pair, whose public half the collector allows.
public struct CurveClientKeys: Sendable, Hashable {
    /// The collector's public key (Z85).
    public var serverPublicKey: String
    /// This worker's public key (Z85).
    public var publicKey: String
    /// This worker's secret key (Z85).
    public var secretKey: String

    /// Creates keys; the public key is derived from the secret one.
    /// - Throws: ZeroMQ's error if `secretKey` is not a Z85 key.
    public init(serverPublicKey: String, secretKey: String) throws {
        self.serverPublicKey = serverPublicKey
        self.secretKey = secretKey
        publicKey = try ZMQCurve.publicKey(forSecretKey: secretKey)
    }

    /// Keys from `CHORUS_CURVE_SERVER_KEY` and `CHORUS_CURVE_SECRET_KEY`, if both are set.
    /// - Throws: ``ChorusClientError`` if only one is, or a key is malformed.
    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) throws
        -> CurveClientKeys?
    {
        let server = environment["CHORUS_CURVE_SERVER_KEY"]
        let secret = environment["CHORUS_CURVE_SECRET_KEY"]
        switch (server, secret) {
        case (nil, nil):
            return nil
        case (let server?, let secret?):
            do {
                return try CurveClientKeys(serverPublicKey: server, secretKey: secret)
            } catch {
                throw ChorusClientError("CHORUS_CURVE_SECRET_KEY is not a 40-character Z85 key: \(error)")
            }
        default:
            throw ChorusClientError("set both CHORUS_CURVE_SERVER_KEY and CHORUS_CURVE_SECRET_KEY, or neither")
        }
    }

    /// Sets `socket` up to connect to the collector with these keys.
    func secure(_ socket: borrowing ZMQSocket) throws(ZMQError) {
        try socket.setCurveClient(serverPublicKey: serverPublicKey, publicKey: publicKey, secretKey: secretKey)
    }
}

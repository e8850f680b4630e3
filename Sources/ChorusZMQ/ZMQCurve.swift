import CZeroMQ

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// CURVE (CurveZMQ): encryption and server authentication for `tcp://` connections.
///
/// Keys are 40-character Z85 strings encoding 32-byte Curve25519 keys. A server needs its
/// secret key (``ZMQSocket/setCurveServer(secretKey:)``); each client needs the server's
/// public key and a key pair of its own (``ZMQSocket/setCurveClient(serverPublicKey:publicKey:secretKey:)``).
/// Without a ZAP handler, which this module does not provide, a server accepts every client
/// that knows its public key.
public enum ZMQCurve {
    /// The length of a key in Z85 text.
    public static let keyLength = 40

    /// Whether this libzmq was built with CURVE support (`zmq_has("curve")`).
    public static var isAvailable: Bool {
        zmq_has("curve") != 0
    }

    /// Generates a new random key pair (`zmq_curve_keypair`).
    ///
    /// - Returns: The public and the secret key, each ``keyLength`` characters of Z85.
    /// - Throws: ``ZMQError`` with `ENOTSUP` when libzmq has no CURVE support.
    public static func generateKeyPair() throws(ZMQError) -> (publicKey: String, secretKey: String) {
        // Z85 text plus a terminating NUL.
        var publicKey = [CChar](repeating: 0, count: keyLength + 1)
        var secretKey = [CChar](repeating: 0, count: keyLength + 1)
        try ZMQCall.check(zmq_curve_keypair(&publicKey, &secretKey), "zmq_curve_keypair")
        return (text(publicKey), text(secretKey))
    }

    /// Derives the public key that belongs to a secret key (`zmq_curve_public`).
    ///
    /// - Parameter secretKey: A secret key of ``keyLength`` Z85 characters.
    /// - Returns: The matching public key in Z85.
    /// - Throws: ``ZMQError`` with `EINVAL` for a key that is not 40 Z85 characters, or
    ///   `ENOTSUP` without CURVE support. The error never includes the key.
    public static func publicKey(forSecretKey secretKey: String) throws(ZMQError) -> String {
        guard secretKey.utf8.count == keyLength else {
            throw ZMQError(call: "zmq_curve_public", errno: EINVAL, context: "a secret key of 40 Z85 characters")
        }
        var publicKey = [CChar](repeating: 0, count: keyLength + 1)
        try ZMQCall.check(zmq_curve_public(&publicKey, secretKey), "zmq_curve_public")
        return text(publicKey)
    }

    /// The text of a NUL-terminated C string held in an array.
    /// The Z85 text of a binary key, as ZAP requests carry a CURVE client's 32-byte key.
    /// - Returns: `nil` unless `bytes` has a multiple of 4 bytes.
    public static func z85(_ bytes: [UInt8]) -> String? {
        guard bytes.count % 4 == 0 else { return nil }
        var characters = [CChar](repeating: 0, count: bytes.count * 5 / 4 + 1)
        guard zmq_z85_encode(&characters, bytes, bytes.count) != nil else { return nil }
        return text(characters)
    }

    private static func text(_ characters: [CChar]) -> String {
        String(decoding: characters.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

extension ZMQSocket {
    /// Makes this socket a CURVE server with `secretKey` (`ZMQ_CURVE_SERVER`, `ZMQ_CURVE_SECRETKEY`).
    ///
    /// Set it before ``bind(_:)``. Clients must then know the matching public key; traffic
    /// is encrypted, and clients without CURVE or with another server key cannot connect.
    ///
    /// - Parameter secretKey: The server's secret key, ``ZMQCurve/keyLength`` Z85 characters.
    /// - Throws: ``ZMQError`` from `zmq_setsockopt`: `EINVAL` for a malformed key. Keys are
    ///   never included in errors.
    public func setCurveServer(secretKey: String) throws(ZMQError) {
        try setOption(.curveServer, int: 1)
        try setOption(.curveSecretKey, bytes: Array(secretKey.utf8))
    }

    /// Makes this socket a CURVE client of the server with `serverPublicKey`
    /// (`ZMQ_CURVE_SERVERKEY`, `ZMQ_CURVE_PUBLICKEY`, `ZMQ_CURVE_SECRETKEY`).
    ///
    /// Set it before ``connect(_:)``. A client whose server key does not match the server
    /// fails its handshake and sends nothing; libzmq keeps retrying in the background.
    ///
    /// - Parameters:
    ///   - serverPublicKey: The server's public key, ``ZMQCurve/keyLength`` Z85 characters.
    ///   - publicKey: This client's public key, from ``ZMQCurve/generateKeyPair()``.
    ///   - secretKey: This client's secret key.
    /// - Throws: ``ZMQError`` from `zmq_setsockopt`: `EINVAL` for a malformed key. Keys are
    ///   never included in errors.
    public func setCurveClient(serverPublicKey: String, publicKey: String, secretKey: String) throws(ZMQError) {
        try setOption(.curveServerKey, bytes: Array(serverPublicKey.utf8))
        try setOption(.curvePublicKey, bytes: Array(publicKey.utf8))
        try setOption(.curveSecretKey, bytes: Array(secretKey.utf8))
    }

    /// Sets the ZAP domain that a ZAP handler sees for this socket's connections (`ZMQ_ZAP_DOMAIN`).
    ///
    /// Only meaningful with a ZAP handler, which decides per domain whom to accept.
    ///
    /// - Throws: ``ZMQError`` from `zmq_setsockopt`.
    public func setZapDomain(_ domain: String) throws(ZMQError) {
        try setOption(.zapDomain, bytes: Array(domain.utf8))
    }
}

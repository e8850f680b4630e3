import ChorusZMQ
import Foundation

/// `chorus keygen`: a CURVE key pair for a collector or a worker.
enum KeygenCommand: Command {
    static let name = "keygen"
    static let summary = "make a CURVE key pair, to encrypt and admit connections across untrusted networks"
    static let help = """
        Usage: chorus keygen [--out PREFIX]

        Prints a new CURVE key pair (Z85), or with --out writes PREFIX.key (the secret key,
        readable by its owner only) and PREFIX.pub (the public key).

        A collector runs with its secret key and a file of the workers' public keys:
          chorus keygen --out collector
          chorus keygen --out worker0          # on each worker host
          cat worker*.pub > allowed.keys
          chorus collect --curve-secret-key-file collector.key --allow-keys-file allowed.keys
        and each worker sets CHORUS_CURVE_SERVER_KEY (collector.pub) and
        CHORUS_CURVE_SECRET_KEY (its own .key). Others get nothing in.
        """

    static func run(_ arguments: inout Arguments) throws -> Int32 {
        let prefix = try arguments.option("out")
        try arguments.finish()
        guard ZMQCurve.isAvailable else {
            throw ReplayError("this libzmq was built without CURVE")
        }
        let pair = try ZMQCurve.generateKeyPair()
        guard let prefix else {
            printLine("public: \(pair.publicKey)")
            printLine("secret: \(pair.secretKey)")
            return 0
        }
        try write(pair.secretKey + "\n", to: prefix + ".key", permissions: 0o600)
        try write(pair.publicKey + "\n", to: prefix + ".pub", permissions: 0o644)
        printLine("wrote \(prefix).key (secret) and \(prefix).pub: \(pair.publicKey)")
        return 0
    }

    private static func write(_ text: String, to path: String, permissions: Int) throws {
        guard !FileManager.default.fileExists(atPath: path) else {
            throw UsageError("\(path) exists; keygen never overwrites a key")
        }
        guard
            FileManager.default.createFile(
                atPath: path,
                contents: Data(text.utf8),
                attributes: [.posixPermissions: permissions]
            )
        else { throw ReplayError("cannot write \(path)") }
    }
}

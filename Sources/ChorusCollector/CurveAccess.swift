import ChorusZMQ
import Foundation
import Synchronization

/// Who may send to a collector, when it runs with CURVE: its secret key, which encrypts
/// every connection, and the public keys of the workers it lets in.
public struct CurveAccess: Sendable {
    /// The collector's secret key (Z85, 40 characters).
    public var serverSecretKey: String
    /// The workers' public keys (Z85) allowed to send.
    public var allowedClientKeys: Set<String>

    /// Creates access rules.
    public init(serverSecretKey: String, allowedClientKeys: Set<String>) {
        self.serverSecretKey = serverSecretKey
        self.allowedClientKeys = allowedClientKeys
    }

    /// Reads a secret key file, as `chorus keygen` writes it, and a file of allowed public
    /// keys, one per line (blank lines and `#` comments ignored).
    /// - Throws: ``CurveAccessError`` naming the file and what is wrong with it.
    public static func load(secretKeyFile: String, allowedKeysFile: String) throws -> CurveAccess {
        let secret = try keys(in: secretKeyFile)
        guard secret.count == 1 else {
            throw CurveAccessError("\(secretKeyFile) must hold exactly one secret key, not \(secret.count)")
        }
        let allowed = try keys(in: allowedKeysFile)
        guard !allowed.isEmpty else {
            throw CurveAccessError("\(allowedKeysFile) holds no public key: no worker could send")
        }
        return CurveAccess(serverSecretKey: secret[0], allowedClientKeys: Set(allowed))
    }

    /// The 40-character Z85 keys in `file`, one per line.
    static func keys(in file: String) throws -> [String] {
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
            throw CurveAccessError("cannot read the key file \(file)")
        }
        return try text.split(separator: "\n", omittingEmptySubsequences: false).enumerated().compactMap {
            number, line in
            let key = line.trimmingCharacters(in: .whitespaces)
            if key.isEmpty || key.hasPrefix("#") { return nil }
            guard key.utf8.count == ZMQCurve.keyLength else {
                throw CurveAccessError("\(file):\(number + 1): a key is 40 Z85 characters, not \(key.utf8.count)")
            }
            return key
        }
    }
}

/// A key file that cannot be used, with the file and what is wrong with it.
public struct CurveAccessError: Error, Sendable, CustomStringConvertible {
    /// What is wrong.
    public var description: String

    init(_ description: String) {
        self.description = description
    }
}

/// Answers libzmq's ZAP requests for a context on a thread of its own: a CURVE handshake
/// succeeds only for a client whose public key is allowed. Everyone else gets nothing in,
/// not even a message to reject.
final class ZAPHandler: Sendable {
    private let stopping = Atomic<Bool>(false)
    private let finished = DispatchSemaphore(value: 0)
    private let refused = Atomic<Int64>(0)

    /// Binds the context's ZAP endpoint and starts answering.
    /// - Throws: ZeroMQ's error if the endpoint is taken (another handler in the context).
    init(context: ZMQContext, access: CurveAccess, logger: Logger) throws {
        let ready = DispatchSemaphore(value: 0)
        let failure = Mutex<(any Error)?>(nil)
        let thread = Thread { [self] in
            do {
                let socket = try ZMQSocket(context, type: .rep)
                try socket.setReceiveTimeout(milliseconds: 100)
                try socket.setLinger(milliseconds: 0)
                try socket.bind("inproc://zeromq.zap.01")
                ready.signal()
                serve(socket, access: access, logger: logger)
            } catch {
                failure.withLock { $0 = error }
                ready.signal()
            }
            finished.signal()
        }
        thread.name = "chorus-zap"
        thread.start()
        ready.wait()
        if let error = failure.withLock({ $0 }) { throw error }
    }

    /// Handshakes refused so far.
    var refusals: Int64 { refused.load(ordering: .relaxed) }

    /// Stops answering and closes the ZAP socket.
    func stop() {
        stopping.store(true, ordering: .relaxed)
        finished.wait()
    }

    private func serve(_ socket: borrowing ZMQSocket, access: CurveAccess, logger: Logger) {
        while !stopping.load(ordering: .relaxed) {
            guard let request = try? socket.receiveParts(), request.count >= 6 else { continue }
            // version, request id, domain, address, routing id, mechanism, credentials…
            let mechanism = String(decoding: request[5], as: UTF8.self)
            let key = request.count > 6 ? ZMQCurve.z85(request[6]) : nil
            let allowed = mechanism == "CURVE" && key.map(access.allowedClientKeys.contains) == true
            if !allowed {
                refused.add(1, ordering: .relaxed)
                logger.warning(
                    "refused a worker",
                    [
                        ("mechanism", mechanism), ("key", key ?? "none"),
                        ("address", String(decoding: request[3], as: UTF8.self)),
                    ]
                )
            }
            let reply: [[UInt8]] = [
                Array("1.0".utf8), request[1], Array((allowed ? "200" : "400").utf8),
                Array((allowed ? "OK" : "key not allowed").utf8), Array((key ?? "").utf8), [],
            ]
            for (index, part) in reply.enumerated() {
                _ = try? socket.send(part, more: index < reply.count - 1)
            }
        }
    }
}

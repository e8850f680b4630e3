import ChorusZMQ
import Foundation

/// A bound `pull` socket and a `push` socket connected to it, on one context.
struct PushPullPair: ~Copyable {
    let context: ZMQContext
    let pull: ZMQSocket
    let push: ZMQSocket
    let endpoint: String

    /// Binds the pull socket to `endpoint` (default: a free loopback TCP port) and connects.
    init(bindingTo endpoint: String = "tcp://127.0.0.1:*", receiveTimeoutMilliseconds: Int32 = 5000) throws {
        let context = try ZMQContext()
        let pull = try ZMQSocket(context, type: .pull)
        try pull.setReceiveTimeout(milliseconds: receiveTimeoutMilliseconds)
        try pull.bind(endpoint)
        let resolved = try pull.lastEndpoint
        let push = try ZMQSocket(context, type: .push)
        try push.setLinger(milliseconds: 0)
        try push.connect(resolved)
        self.context = context
        self.pull = pull
        self.push = push
        self.endpoint = resolved
    }
}

/// A directory of its own under the system's temporary directory, removed by ``remove()``.
struct TemporaryDirectory {
    let path: String

    init() throws {
        // Short, because an ipc:// path must fit in 107 bytes.
        path = NSTemporaryDirectory() + "chorus-zmq-" + UUID().uuidString.prefix(8).lowercased()
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }
}

/// A thread of its own running a closure, which the test can wait for with a time limit.
final class TestThread: Sendable {
    private let done = DispatchSemaphore(value: 0)

    /// Starts `body` on a new thread.
    init(_ body: @escaping @Sendable () -> Void) {
        let done = self.done
        Thread {
            body()
            done.signal()
        }.start()
    }

    /// Waits at most `seconds` for the closure to return, and tells whether it did. A thread
    /// that did not is left running (hung).
    func join(within seconds: Double) -> Bool {
        done.wait(timeout: .now() + seconds) == .success
    }
}

/// A value that threads can set and read.
final class Shared<Value: Sendable & Equatable>: @unchecked Sendable {
    // @unchecked Sendable: `value` is only read and written while holding `lock`.
    private let lock = NSLock()
    private var value: Value

    init(_ value: Value) {
        self.value = value
    }

    /// The current value.
    var current: Value {
        lock.withLock { value }
    }

    /// Replaces the value.
    func set(_ newValue: Value) {
        lock.withLock { value = newValue }
    }

    /// Waits at most `seconds` for the value to satisfy `condition`.
    func wait(within seconds: Double, until condition: (Value) -> Bool) -> Bool {
        let deadline = Date(timeIntervalSinceNow: seconds)
        while !condition(current) {
            if Date() > deadline {
                return false
            }
            usleep(1000)
        }
        return true
    }
}

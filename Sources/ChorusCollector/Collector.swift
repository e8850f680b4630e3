import ChorusCore
import ChorusStore
import ChorusZMQ
import Foundation
import Synchronization

/// How a collector listens, where it stores, and the merge rules' bounds.
public struct CollectorConfiguration: Sendable {
    /// Endpoints to bind the PULL socket to (`tcp://…`, `ipc://…`).
    public var endpoints: [String]
    /// The SQLite file.
    public var storePath: String
    /// Whether each commit waits for the disk.
    public var durable = false
    /// The merge rules' bounds.
    public var merge = MergeConfiguration()
    /// The limits on each message.
    public var limits = WireLimits()
    /// The longest a batch stays uncommitted, in seconds.
    public var commitInterval: Double = 0.05
    /// The most messages in one batch.
    public var maxBatchMessages = 50_000
    /// How often rank timeouts are checked, in seconds.
    public var tickInterval: Double = 0.25
    /// Messages ZeroMQ queues for the collector per connection before that sender waits.
    /// With the message size limit it bounds the memory a flood can take: at most this many
    /// times 1 MiB per connection, however fast one sender sends.
    public var receiveHighWaterMark: Int32 = 10_000
    /// The most runs merged at once that have not finished; a message starting one more is
    /// rejected. Finished runs leave memory a while after they finish and come back from
    /// the store if a late message arrives.
    public var maxLiveRuns = 10_000
    /// Seconds a finished run stays in memory before it leaves.
    public var finishedRunRetention: Double = 300
    /// The logger.
    public var logger = Logger()
    /// When set, every connection is encrypted with CURVE and only allowed workers get in.
    public var curve: CurveAccess?
    /// Endpoints of the PUB socket that acknowledges committed records (`protocol.md`,
    /// section 8): `nil` pairs one with each PULL endpoint, an empty list turns them off.
    public var ackEndpoints: [String]?

    /// Creates a configuration.
    public init(endpoints: [String], storePath: String) {
        self.endpoints = endpoints
        self.storePath = storePath
    }
}

/// What a collector has done so far, readable from any thread.
public struct CollectorCounters: Sendable, Hashable {
    /// Messages taken off the socket, whatever became of them.
    public var messages: Int64 = 0
    /// Messages rejected, of any run or of none.
    public var rejected: Int64 = 0
    /// Batches committed to the store.
    public var commits: Int64 = 0
    /// Rejections by reason code.
    public var rejectedByReason: [String: Int64] = [:]
    /// Steps whose reduction was committed.
    public var stepsStored: Int64 = 0
    /// The store latencies of those steps added up, in seconds.
    public var storeLatencySum: Double = 0
}

/// The collector: one PULL socket, one store, a merger per run, run by one thread.
///
/// ``start()`` binds and returns once the endpoints listen; ``stop()`` asks the loop to
/// stop receiving, drain what is queued, complete every open step, commit and return.
public final class Collector: Sendable {
    /// The configuration.
    public let configuration: CollectorConfiguration
    private let context: ZMQContext
    private let state = Mutex(SharedState())

    private struct SharedState: Sendable {
        var counters = CollectorCounters()
        var stopRequested = false
        var syncRequests: Int64 = 0
        var syncsDone: Int64 = 0
        var boundEndpoints: [String] = []
        var boundAckEndpoints: [String] = []
        var started = false
        var stopped = false
        var failure: String?
        /// The latest store latencies, oldest first, at most ``Collector/latencySamples``.
        var latencies: [Double] = []
        /// Each run as of its latest commit.
        var runs: [String: RunStatus] = [:]
    }

    /// How many of the latest store latencies are kept.
    public static let latencySamples = 1_000_000

    /// Creates a collector; nothing is bound until ``start()``.
    public init(configuration: CollectorConfiguration) throws {
        self.configuration = configuration
        context = try ZMQContext()
    }

    /// The endpoints as bound (a `tcp://host:*` endpoint shows its port).
    public var boundEndpoints: [String] { state.withLock { $0.boundEndpoints } }

    /// The acknowledgement endpoints as bound; empty when acknowledgements are off.
    public var boundAckEndpoints: [String] { state.withLock { $0.boundAckEndpoints } }

    /// The counters so far.
    public var counters: CollectorCounters { state.withLock { $0.counters } }

    /// Why the loop stopped on its own, if it did.
    public var failure: String? { state.withLock { $0.failure } }

    /// Whether the loop has ended.
    public var isStopped: Bool { state.withLock { $0.stopped } }

    /// Where the collector is in its life, for health checks.
    public var phase: CollectorPhase {
        state.withLock { shared in
            if shared.failure != nil { return .failed }
            if shared.stopped { return .stopped }
            if shared.stopRequested { return .stopping }
            return shared.started ? .running : .starting
        }
    }

    /// Every run the collector has seen, as of its latest commit, ordered by run id.
    public var runStatuses: [RunStatus] {
        state.withLock { $0.runs.values.sorted { $0.run < $1.run } }
    }

    /// Opens the store, binds every endpoint and starts the loop on its own thread.
    /// - Throws: the store's or ZeroMQ's error (an endpoint in use, say); nothing runs then.
    public func start() throws {
        let ready = DispatchSemaphore(value: 0)
        let startError = Mutex<(any Error)?>(nil)
        let thread = Thread { [self] in
            let loop: CollectorLoop
            do {
                loop = try CollectorLoop(collector: self, context: context)
            } catch {
                startError.withLock { $0 = error }
                ready.signal()
                return
            }
            state.withLock {
                $0.boundEndpoints = loop.boundEndpoints
                $0.boundAckEndpoints = loop.boundAckEndpoints
                $0.started = true
            }
            ready.signal()
            loop.run()
        }
        thread.name = "chorus-collector"
        thread.stackSize = 8 << 20
        thread.start()
        ready.wait()
        if let error = startError.withLock({ $0 }) {
            throw error
        }
    }

    /// Asks the loop to drain, complete, commit and end; returns at once.
    public func stop() {
        state.withLock { $0.stopRequested = true }
    }

    /// Waits until the loop has ended, or `timeout` seconds pass.
    /// - Returns: whether it ended.
    @discardableResult
    public func waitUntilStopped(timeout: Double = .infinity) -> Bool {
        waitFor(timeout: timeout) { $0.stopped }
    }

    /// Waits until the loop has taken at least `count` messages off the socket and committed
    /// what they changed, or `timeout` seconds pass.
    /// - Returns: whether it got there.
    @discardableResult
    public func waitUntilHandled(_ count: Int64, timeout: Double = 30) -> Bool {
        guard waitFor(timeout: timeout, { $0.counters.messages >= count || $0.stopped }) else { return false }
        return sync(timeout: timeout)
    }

    /// Asks the loop to run its timers and commit now, and waits until it has.
    @discardableResult
    public func sync(timeout: Double = 30) -> Bool {
        let ticket = state.withLock { shared -> Int64 in
            shared.syncRequests += 1
            return shared.syncRequests
        }
        return waitFor(timeout: timeout) { $0.syncsDone >= ticket || $0.stopped }
    }

    private func waitFor(timeout: Double, _ condition: (SharedState) -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while !state.withLock({ condition($0) }) {
            if Date() >= deadline { return false }
            usleep(1_000)
        }
        return true
    }

    // MARK: - For the loop

    var stopRequested: Bool { state.withLock { $0.stopRequested } }

    var pendingSync: Int64? {
        state.withLock { $0.syncRequests > $0.syncsDone ? $0.syncRequests : nil }
    }

    func syncDone(_ ticket: Int64) {
        state.withLock { $0.syncsDone = max($0.syncsDone, ticket) }
    }

    /// Seconds from the arrival of each step's last record to the commit of its reduction,
    /// for the latest steps, oldest first.
    public var storeLatencies: [Double] { state.withLock { $0.latencies } }

    func count(messages: Int64, rejections: [String: Int64], commits: Int64, storeLatencies: [Double]) {
        state.withLock { shared in
            shared.counters.messages += messages
            shared.counters.commits += commits
            shared.counters.stepsStored += Int64(storeLatencies.count)
            shared.counters.storeLatencySum += storeLatencies.reduce(0, +)
            shared.latencies += storeLatencies
            if shared.latencies.count > Self.latencySamples + Self.latencySamples / 4 {
                shared.latencies.removeFirst(shared.latencies.count - Self.latencySamples)
            }
            for (reason, count) in rejections {
                shared.counters.rejected += count
                shared.counters.rejectedByReason[reason, default: 0] += count
            }
        }
    }

    func publish(_ statuses: [RunStatus]) {
        state.withLock { shared in
            for status in statuses { shared.runs[status.run] = status }
        }
    }

    func loopEnded(failure: String?) {
        state.withLock {
            $0.failure = failure
            $0.stopped = true
        }
    }
}

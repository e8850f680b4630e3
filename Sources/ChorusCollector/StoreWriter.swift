import ChorusCore
import ChorusStore
import Foundation
import Synchronization

/// The thread that owns the store's SQLite connection, so that writing runs beside
/// receiving, decoding and merging instead of after them.
///
/// The collector loop hands it batches of changes and commit requests in order; reads (a
/// merger revising a complete step that left its cache) wait for every change handed over
/// before them, so they see exactly what a single-threaded store would.
final class StoreWriter: Sendable {
    /// A unit of work, run in order on the writer's thread.
    private enum Job: @unchecked Sendable {
        // @unchecked: the closures run on the writer's thread only, and what they capture
        // from the loop thread stays untouched there until the loop's `read` returns.
        case changes([(run: String, change: HistoryChange)])
        case commit(
            statuses: [RunStatus],
            rejections: [RejectionTally],
            done: @Sendable (Result<[Double], any Error>) -> Void
        )
        case read((Store) -> Void)
        case stop
    }

    /// The store, moved to the writer's thread and never touched by another after `init`.
    private final class OwnedStore: @unchecked Sendable {
        let store: Store

        init(_ store: Store) {
            self.store = store
        }
    }

    private struct Queue: Sendable {
        var jobs: [Job] = []
        var failure: String?
    }

    private let queue = Mutex(Queue())
    private let work = DispatchSemaphore(value: 0)
    private let room: DispatchSemaphore
    private let finished = DispatchSemaphore(value: 0)

    /// Starts the writer's thread with `store`, which no other thread may use from now on.
    /// - Parameter capacity: the most jobs waiting before the loop waits for the writer.
    init(store: Store, capacity: Int = 16) {
        room = DispatchSemaphore(value: capacity)
        let owned = OwnedStore(store)
        let thread = Thread { [self] in
            run(owned.store)
            finished.signal()
        }
        thread.name = "chorus-store"
        thread.start()
    }

    /// Why writing failed, if it did; every job after a failure is dropped.
    var failure: String? { queue.withLock { $0.failure } }

    /// Hands over changes to apply in the open batch.
    func apply(_ changes: [(run: String, change: HistoryChange)]) {
        submit(.changes(changes))
    }

    /// Asks for the statuses to be written and the batch committed; `done` gets, when the
    /// commit is over, the arrival times of the last records of the steps it completed.
    func commit(
        _ statuses: [RunStatus],
        rejections: [RejectionTally],
        done: @escaping @Sendable (Result<[Double], any Error>) -> Void
    ) {
        submit(.commit(statuses: statuses, rejections: rejections, done: done))
    }

    /// Runs `body` on the writer's thread after every job handed over before, and waits.
    func read<Value>(_ body: @escaping (Store) throws -> Value) throws -> Value {
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var result: Result<Value, any Error> = .failure(StoreError("the store writer has stopped"))
        submit(
            .read { store in
                result = Result { try body(store) }
                done.signal()
            }
        )
        done.wait()
        return try result.get()
    }

    /// Runs what was handed over, then ends the thread and waits for it.
    func stop() {
        submit(.stop)
        finished.wait()
    }

    private func submit(_ job: Job) {
        room.wait()
        queue.withLock { $0.jobs.append(job) }
        work.signal()
    }

    private func run(_ store: Store) {
        while true {
            work.wait()
            let job = queue.withLock { $0.jobs.removeFirst() }
            room.signal()
            let failed = queue.withLock { $0.failure != nil }
            switch job {
            case .stop:
                return
            case .read(let body):
                body(store)
            case .changes(let changes) where !failed:
                perform {
                    try store.begin()
                    for (run, change) in changes { try store.apply(change, run: run) }
                }
            case .commit(let statuses, let rejections, let done) where !failed:
                do {
                    try store.begin()
                    let now = wallClockSeconds()
                    for status in statuses { try store.writeStatus(status, now: now) }
                    try store.recordRejections(rejections)
                    done(.success(try store.commit()))
                } catch {
                    queue.withLock { $0.failure = "\(error)" }
                    done(.failure(error))
                }
            case .commit(_, _, let done):
                done(.failure(StoreError("the store writer failed: \(failure ?? "")")))
            case .changes:
                break
            }
        }
    }

    private func perform(_ body: () throws -> Void) {
        do {
            try body()
        } catch {
            queue.withLock { $0.failure = "\(error)" }
        }
    }
}

/// The mergers' view of the store through its writer: changes are gathered into batches and
/// handed over; reads wait their turn behind them.
final class PipelinedStore: HistoryStore {
    private let writer: StoreWriter
    private var pending: [(run: String, change: HistoryChange)] = []
    private let batchSize: Int

    init(writer: StoreWriter, batchSize: Int = 1_024) {
        self.writer = writer
        self.batchSize = batchSize
        pending.reserveCapacity(batchSize)
    }

    /// Hands over the changes gathered so far.
    func flush() {
        guard !pending.isEmpty else { return }
        writer.apply(pending)
        pending.removeAll(keepingCapacity: true)
    }

    func apply(_ change: HistoryChange, run: String) {
        pending.append((run, change))
        if pending.count >= batchSize { flush() }
    }

    func loadStep(run: String, step: Int64) throws -> StepState? {
        flush()
        return try writer.read { try $0.loadStep(run: run, step: step) }
    }

    func steps(run: String, rank: Int32, below attempt: Int64, in range: ClosedRange<Int64>) throws -> [Int64] {
        flush()
        return try writer.read { try $0.steps(run: run, rank: rank, below: attempt, in: range) }
    }

    func headlineExtremes(run: String, key: Int32, operation: ReduceOperation) throws -> HeadlineExtremes {
        flush()
        return try writer.read { try $0.headlineExtremes(run: run, key: key, operation: operation) }
    }

    func keyNames(run: String) throws -> [String] {
        flush()
        return try writer.read { try $0.keyNames(run: run) }
    }

    func latestText(run: String, key: Int32) throws -> PlacedText? {
        flush()
        return try writer.read { try $0.latestText(run: run, key: key) }
    }

    func savedStatus(run: String) throws -> RunStatus? {
        flush()
        return try writer.read { try $0.savedStatus(run: run) }
    }

    func highestCompleteStep(run: String) throws -> Int64 {
        flush()
        return try writer.read { try $0.highestCompleteStep(run: run) }
    }

    func openSteps(run: String) throws -> [StepState] {
        flush()
        return try writer.read { try $0.openSteps(run: run) }
    }

    func completeValues(run: String) throws -> [(key: Int32, value: MetricValue)] {
        flush()
        return try writer.read { try $0.completeValues(run: run) }
    }
}

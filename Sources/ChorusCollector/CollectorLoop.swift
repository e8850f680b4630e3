import ChorusCore
import ChorusStore
import ChorusZMQ
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The collector's thread: receives, decodes and merges, and hands what changed to the
/// store's writer thread, committing in batches.
///
/// It owns the PULL socket, which may not be shared; the store connection belongs to the
/// ``StoreWriter``. It talks to its ``Collector`` only through the collector's lock.
final class CollectorLoop {
    let boundEndpoints: [String]
    var boundAckEndpoints: [String] { acks?.boundEndpoints ?? [] }
    private unowned let collector: Collector
    private let configuration: CollectorConfiguration
    private let socket: ZMQSocket
    private let writer: StoreWriter
    private let zap: ZAPHandler?
    private let store: PipelinedStore
    private let decoder: WireDecoder
    private var logger: Logger { configuration.logger }
    private var mergers: [String: RunMerger] = [:]
    private var touchedRuns: Set<String> = []
    /// Finished runs, with when they were last seen finished.
    private var finishedRuns: [String: Double] = [:]
    private var batchMessages: Int64 = 0
    /// ZeroMQ messages taken off the socket: protocol messages, or relays' batches of them.
    private var frames: Int64 = 0
    private var batchRejections: [String: RejectionTally] = [:]
    private var batchStarted: Double?
    private var lastTick = 0.0
    private var rejectionsLogged: Set<String> = []
    private let acks: AckPublisher?
    /// Acknowledgements whose commit is over, handed from the writer's thread to this one.
    private let committedAcks = CommittedAcknowledgements()
    /// What each incarnation was last acknowledged as, or is about to be by a commit under way.
    private var acknowledged: [Sender: (durable: Int64, ended: Bool)] = [:]

    init(collector: Collector, context: ZMQContext) throws {
        self.collector = collector
        configuration = collector.configuration
        decoder = WireDecoder(limits: configuration.limits)
        let database = try Store(path: configuration.storePath, durable: configuration.durable)
        database.completionClock = wallClockSeconds
        writer = StoreWriter(store: database)
        store = PipelinedStore(writer: writer)
        if let curve = configuration.curve {
            zap = try ZAPHandler(context: context, access: curve, logger: configuration.logger)
        } else {
            zap = nil
        }
        let socket = try ZMQSocket(context, type: .pull)
        if let curve = configuration.curve {
            try socket.setCurveServer(secretKey: curve.serverSecretKey)
            try socket.setZapDomain("chorus")
        }
        try socket.setReceiveHighWaterMark(configuration.receiveHighWaterMark)
        try socket.setMaxMessageSize(Int64(configuration.limits.maxMessageBytes))
        try socket.setReceiveTimeout(milliseconds: Int32(max(1, configuration.commitInterval * 1000)))
        try socket.setLinger(milliseconds: 0)
        // A worker whose network went away leaves a connection that looks alive; the kernel's
        // probes drop it after about 10 s, so that what the worker's kernel still retransmits
        // into it later is refused, the worker connects afresh, and acknowledgements make it
        // send what was lost (section 8). Not ZeroMQ's own pings: a collector busier than its
        // senders stops reading their connections, pongs included, and libzmq 4.3.4 then drops
        // live connections and can abort the whole process when reading resumes (it did, under
        // the flood test). The kernel answers probes whether or not the collector reads.
        try socket.setTCPKeepalive(idleSeconds: 2, intervalSeconds: 1, count: 8)
        var bound: [String] = []
        for endpoint in configuration.endpoints {
            try socket.bind(endpoint)
            bound.append(try socket.lastEndpoint)
        }
        self.socket = socket
        boundEndpoints = bound
        let ackEndpoints =
            configuration.ackEndpoints ?? bound.compactMap { Acknowledgement.endpoint(pairedWith: $0) }
        acks =
            ackEndpoints.isEmpty
            ? nil : try AckPublisher(context: context, endpoints: ackEndpoints, curve: configuration.curve)
        configuration.logger.info(
            "collector listening",
            [
                ("endpoints", bound.joined(separator: ",")),
                ("acks", acks?.boundEndpoints.joined(separator: ",") ?? "off"), ("store", configuration.storePath),
            ]
        )
        for run in try writer.read({ try $0.unfinishedRuns() }) {
            do {
                _ = try merger(of: run)
            } catch let error as WireError {
                logger.warning(
                    "run left in the store until its ranks speak", [("run", run), ("reason", error.message)])
            }
        }
    }

    /// Runs until the collector asks it to stop (or the store fails), then drains and ends.
    func run() {
        var failure: String?
        do {
            while !collector.stopRequested {
                try receiveBatch(deadline: wallClockSeconds() + configuration.commitInterval)
                try maintain(now: wallClockSeconds())
                if let failed = writer.failure { throw StoreError("writing the store failed: \(failed)") }
            }
            try drain()
            releaseEndpoints()
            for merger in mergers.values {
                try merger.completeAllOpenSteps()
                touchedRuns.insert(merger.run)
            }
            commit(now: wallClockSeconds(), sync: nil)
            writer.stop()
            acks?.publish(committed: committedAcks.take(), now: wallClockSeconds())
            acks?.release()
            zap?.stop()
            if let failed = writer.failure { throw StoreError("writing the store failed: \(failed)") }
            logger.info(
                "collector stopped",
                [
                    ("runs", String(mergers.count)), ("messages", String(collector.counters.messages)),
                    ("frames", String(frames)),
                ]
            )
        } catch {
            failure = "\(error)"
            logger.error("collector failed", [("error", "\(error)")])
            writer.stop()
            acks?.release()
            zap?.stop()
        }
        collector.loopEnded(failure: failure)
    }

    /// Receives messages until `deadline` or a full batch.
    private func receiveBatch(deadline: Double) throws {
        while batchMessages < configuration.maxBatchMessages {
            guard try receiveOne(wait: true) else { return }
            if wallClockSeconds() >= deadline { return }
        }
    }

    /// Takes what ZeroMQ has already queued, without waiting for more: a stopping collector
    /// stops receiving but keeps every message that reached it. Bounded in time, so that a
    /// sender flooding the socket cannot hold the shutdown back.
    private func drain() throws {
        let giveUp = wallClockSeconds() + 5
        while try receiveOne(wait: false), wallClockSeconds() < giveUp {
            if batchMessages >= configuration.maxBatchMessages {
                commit(now: wallClockSeconds(), sync: nil)
            }
        }
    }

    /// Unbinds the endpoints and removes the socket files of `ipc://` ones, which ZeroMQ
    /// leaves behind.
    private func releaseEndpoints() {
        for endpoint in boundEndpoints {
            try? socket.unbind(endpoint)
            if endpoint.hasPrefix("ipc://") {
                unlink(String(endpoint.dropFirst("ipc://".count)))
            }
        }
    }

    /// Receives and handles one message; `false` if none came within the receive timeout.
    private func receiveOne(wait: Bool) throws -> Bool {
        let outcome: Result<WireFrame, WireError>? = try socket.receive(wait: wait) { bytes, more in
            if more {
                _ = try socket.discardRemainingParts()
                return .failure(WireError(.multipart, "a message must have exactly one frame"))
            }
            return Result { () throws(WireError) in try decoder.decodeFrame(bytes) }
        }
        guard let outcome else { return false }
        if batchStarted == nil {
            batchStarted = wallClockSeconds()
        }
        frames += 1
        switch outcome {
        case .success(.message(let message)):
            batchMessages += 1
            try handle(message)
        case .success(.batch(_, let messages)):
            // A relay's batch: every message in it as if it had come alone.
            for inner in messages {
                batchMessages += 1
                switch inner {
                case .success(let message): try handle(message)
                case .failure(let error): reject(error, countedByRun: false)
                }
            }
        case .failure(let error):
            batchMessages += 1
            reject(error, countedByRun: false)
        }
        return true
    }

    private func handle(_ message: WireMessage) throws {
        let run = message.sender.run
        do {
            let merger = try self.merger(of: run)
            touchedRuns.insert(run)
            try merger.apply(message, now: wallClockSeconds())
        } catch var error as WireError {
            error.sender = message.sender
            reject(error, countedByRun: mergers[run] != nil)
        }
    }

    /// The merger of `run`, made if it is new: a run the store holds carries on from there.
    private func merger(of run: String) throws -> RunMerger {
        if let existing = mergers[run] { return existing }
        let live = mergers.count - finishedRuns.count
        guard live < configuration.maxLiveRuns else {
            throw WireError(
                .overLimit,
                "\(live) runs are live, the most this collector merges at once (--max-live-runs); run \(run) must wait"
            )
        }
        let merger = try RunMerger(run: run, configuration: configuration.merge, store: store, now: wallClockSeconds())
        mergers[run] = merger
        if merger.continuesStoredRun {
            touchedRuns.insert(run)
            logger.info(
                "run continues from the store",
                [
                    ("run", run), ("ranks", String(merger.ranks.count)), ("open_steps", String(merger.openStepCount)),
                    ("rows", String(merger.statistics.rows)),
                ]
            )
        } else {
            logger.info("run started", [("run", run)])
        }
        return merger
    }

    /// Counts a rejected message, in its run too when the run is known, and logs it once per
    /// sender and reason.
    private func reject(_ error: WireError, countedByRun: Bool) {
        let reason = error.code.description
        let origin = error.sender.map { "\($0.run)/\($0.rank)/\($0.incarnation)" }
        var tally =
            batchRejections[reason]
            ?? RejectionTally(reason: reason, count: 0, lastError: "", lastSender: nil, lastAt: 0)
        tally.count += 1
        tally.lastError = error.message
        tally.lastSender = origin
        tally.lastAt = wallClockSeconds()
        batchRejections[reason] = tally
        // Sending a refused record again cannot change its fate, so its sequence number is
        // settled and the rank's acknowledgements pass over it (unless the run's bounds refuse
        // even that, when the record stays missing). Refused messages never start a run: one
        // that comes before anything of its run is settled when its client, having heard no
        // acknowledgement of it, sends it again after its hello.
        if let sender = error.sender, let sequenceNumber = error.sequenceNumber, let merger = mergers[sender.run] {
            touchedRuns.insert(sender.run)
            try? merger.settleRefusedRecord(sender, sequenceNumber: sequenceNumber, now: wallClockSeconds())
        }
        if !countedByRun, let run = error.sender?.run, let merger = mergers[run] {
            merger.countRejection()
            touchedRuns.insert(run)
        }
        let onceKey = "\(origin ?? "unknown") \(reason)"
        guard rejectionsLogged.count < 10_000, rejectionsLogged.insert(onceKey).inserted else { return }
        var metadata = [("reason", reason), ("error", error.message)]
        if let sender = error.sender {
            metadata += [("run", sender.run), ("rank", String(sender.rank)), ("inc", sender.incarnation)]
        }
        logger.warning("rejected message", metadata)
    }

    /// Lets runs finished longer ago than the retention leave memory; the store keeps them,
    /// and a late message brings one back.
    private func forgetFinishedRuns(now: Double) {
        for (run, finishedAt) in finishedRuns where now - finishedAt > configuration.finishedRunRetention {
            guard !touchedRuns.contains(run) else { continue }
            mergers[run] = nil
            finishedRuns[run] = nil
            acks?.forget(run: run)
            acknowledged = acknowledged.filter { $0.key.run != run }
            logger.debug("finished run left memory", [("run", run)])
        }
    }

    /// Runs the timers and commits when a batch is due or a sync was asked for.
    private func maintain(now: Double) throws {
        let sync = collector.pendingSync
        if now - lastTick >= configuration.tickInterval || sync != nil {
            lastTick = now
            forgetFinishedRuns(now: now)
            for merger in mergers.values {
                let lostBefore = merger.ranks.values.filter { $0.status == .lost }.map(\.rank)
                if lostBefore.count < merger.ranks.count {
                    batchStarted = batchStarted ?? now
                    try merger.tick(now: now)
                    let lostNow = merger.ranks.values.filter { $0.status == .lost }.map(\.rank)
                    for rank in Set(lostNow).subtracting(lostBefore).sorted() {
                        logger.warning("rank lost", [("run", merger.run), ("rank", String(rank))])
                        touchedRuns.insert(merger.run)
                    }
                }
            }
        }
        if let acks {
            acks.publish(committed: committedAcks.take(), now: now)
            acks.repeatIfDue(now: now) { self.mergers[$0]?.isFinished ?? true }
        }
        let due = batchStarted.map { now - $0 >= configuration.commitInterval } ?? false
        if due || sync != nil || batchMessages >= configuration.maxBatchMessages {
            commit(now: now, sync: sync)
        }
    }

    /// Hands the batch to the writer to commit; the collector counts its messages, and the
    /// sync request is answered, once the commit is over.
    private func commit(now: Double, sync: Int64?) {
        store.flush()
        var statuses: [RunStatus] = []
        for run in touchedRuns.sorted() {
            guard let merger = mergers[run] else { continue }
            statuses.append(merger.takeStatusOfChanges())
            if merger.isFinished && finishedRuns[run] == nil {
                finishedRuns[run] = now
                logger.info(
                    "run finished",
                    [
                        ("run", run), ("rows", String(merger.statistics.rows)),
                        ("duplicates", String(merger.statistics.duplicates)),
                        ("late", String(merger.statistics.late)),
                    ]
                )
                logRankOutcomes(merger)
            } else if merger.isFinished {
                finishedRuns[run] = now
            } else {
                finishedRuns[run] = nil
            }
        }
        let messages = batchMessages
        let rejections = Array(batchRejections.values)
        let collector = self.collector
        let newAcks = acks == nil ? [] : acknowledgements(of: statuses)
        let committedAcks = self.committedAcks
        writer.commit(statuses, rejections: rejections) { [statuses] result in
            if case .success = result { committedAcks.add(newAcks) }
            let committed = wallClockSeconds()
            let arrivals = (try? result.get()) ?? []
            collector.publish(statuses)
            collector.count(
                messages: messages,
                rejections: Dictionary(uniqueKeysWithValues: rejections.map { ($0.reason, $0.count) }),
                commits: 1,
                storeLatencies: arrivals.map { committed - $0 }
            )
            if let sync { collector.syncDone(sync) }
        }
        touchedRuns.removeAll(keepingCapacity: true)
        batchMessages = 0
        batchRejections.removeAll(keepingCapacity: true)
        batchStarted = nil
    }

    /// Logs, when a run finishes, every rank that did not simply finish: lost ranks, and
    /// incarnations with records missing, repeated or late.
    private func logRankOutcomes(_ merger: RunMerger) {
        for (rank, state) in merger.ranks.sorted(by: { $0.key < $1.key }) {
            if state.status == .lost {
                logger.warning("rank lost when the run finished", [("run", merger.run), ("rank", String(rank))])
            }
            for incarnation in state.incarnations.values.sorted(by: { $0.id < $1.id }) {
                let sequence = incarnation.sequence
                guard sequence.missingCount > 0 || incarnation.duplicates > 0 || incarnation.late > 0 else { continue }
                let gaps = sequence.missingRanges(limit: 5).map { "\($0.lowerBound)-\($0.upperBound)" }
                logger.warning(
                    "rank delivered with gaps, duplicates or late records",
                    [
                        ("run", merger.run), ("rank", String(rank)), ("inc", incarnation.id),
                        ("last_seq", String(sequence.highestKnown)),
                        ("durable_seq", String(sequence.contiguousThrough)),
                        ("missing", String(sequence.missingCount)), ("gaps", gaps.joined(separator: ",")),
                        ("duplicates", String(incarnation.duplicates)), ("late", String(incarnation.late)),
                    ]
                )
            }
        }
    }

    /// The acknowledgements a commit of `statuses` makes true that differ from the last ones.
    private func acknowledgements(of statuses: [RunStatus]) -> [Acknowledgement] {
        guard let acks else { return [] }
        var moved: [Acknowledgement] = []
        for status in statuses {
            for (rank, state) in status.ranks {
                for incarnation in state.incarnations.values {
                    let sender = Sender(run: status.run, rank: rank, incarnation: incarnation.id)
                    let now = (durable: incarnation.sequence.contiguousThrough, ended: incarnation.ended)
                    if let before = acknowledged[sender], before == now { continue }
                    acknowledged[sender] = now
                    moved.append(
                        Acknowledgement(
                            sender: sender,
                            durableSequenceNumber: now.durable,
                            ended: now.ended,
                            collector: acks.collectorID
                        )
                    )
                }
            }
        }
        return moved
    }
}

/// Acknowledgements whose commit is over: the writer's thread adds them, the loop takes them.
private final class CommittedAcknowledgements: Sendable {
    private let acks = Mutex<[Acknowledgement]>([])

    func add(_ new: [Acknowledgement]) {
        guard !new.isEmpty else { return }
        acks.withLock { $0 += new }
    }

    func take() -> [Acknowledgement] {
        acks.withLock { taken in
            defer { taken.removeAll() }
            return taken
        }
    }
}

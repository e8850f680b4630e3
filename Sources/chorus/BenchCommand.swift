import ChorusCollector
import ChorusCore
import ChorusStore
import ChorusZMQ
import Foundation
import Synchronization

/// `chorus bench`: the collector's end-to-end throughput beside the two limits under it.
enum BenchCommand: Command {
    static let name = "bench"
    static let summary = "measure libzmq, SQLite and the collector end to end on the same messages"
    static let help = """
        Usage: chorus bench [--ranks N] [--keys N] [--steps N] [--transport ipc|tcp]

        Builds one set of log records (N ranks each logging N keys at every step, ranks
        interleaved step by step) and measures, in this order:
          1. libzmq alone: PUSH to PULL, messages per second;
          2. SQLite alone: the rows a collector writes for those records (history rows,
             cells, completed steps, reductions), plain INSERTs in batched transactions;
          3. the collector end to end: received, decoded, merged, reduced and committed.
        It prints records/s and values/s, the collector's ratio to each limit, the p50 and
        p99 time from a step's last record to the commit of its reduction, and peak memory.

        Options:
          --ranks N        ranks (default 8)
          --keys N         keys per record (default 10)
          --steps N        steps (default 20000)
          --transport T    ipc or tcp (default ipc)
        """

    static func run(_ arguments: inout Arguments) throws -> Int32 {
        let ranks = try arguments.integer("ranks", in: 1...4_096) ?? 8
        let keys = try arguments.integer("keys", in: 1...1_000) ?? 10
        let steps = try arguments.integer("steps", in: 1...10_000_000) ?? 20_000
        let transport = try arguments.choice("transport", ["ipc", "tcp"]) ?? "ipc"
        try arguments.finish()

        let directory = NSTemporaryDirectory() + "chorus-bench-\(getpid())"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        func endpoint(_ name: String) -> String {
            transport == "ipc" ? "ipc://\(directory)/\(name).sock" : "tcp://127.0.0.1:*"
        }

        let workload = Workload(ranks: ranks, keys: keys, steps: steps)
        let records = Double(workload.recordCount)
        let values = records * Double(keys)
        let bytes = workload.messages.reduce(0) { $0 + $1.count } / max(1, workload.messages.count)
        printLine(
            "workload: \(ranks) ranks × \(steps) steps × \(keys) keys = \(workload.recordCount) records, "
                + "~\(bytes) bytes each"
        )
        let memoryBefore = peakResidentMiB()

        let zmqSeconds = try measureZeroMQ(workload.messages, endpoint: endpoint("raw"))
        let zmqRate = Double(workload.messages.count) / zmqSeconds
        printLine(String(format: "libzmq PUSH→PULL:    %10.0f msgs/s", zmqRate))

        let sqlite = try StoreBenchmark.insertCollectorRows(
            path: "\(directory)/sqlite-only.sqlite",
            ranks: ranks,
            keys: keys,
            steps: steps,
            clock: wallClockSeconds
        )
        let sqliteRecordRate = records / sqlite.seconds
        printLine(
            String(
                format: "SQLite inserts:      %10.0f rows/s   = %10.0f records/s (%d rows for the same records)",
                Double(sqlite.rows) / sqlite.seconds, sqliteRecordRate, sqlite.rows
            )
        )

        var configuration = CollectorConfiguration(
            endpoints: [endpoint("collector")], storePath: "\(directory)/collector.sqlite")
        configuration.logger = Logger(minimumLevel: .warning)
        let collector = try Collector(configuration: configuration)
        try collector.start()
        let collectorSeconds = try measureCollector(collector, workload: workload)
        collector.stop()
        collector.waitUntilStopped()
        let recordRate = records / collectorSeconds
        let latencies = collector.storeLatencies.sorted()
        printLine(
            String(
                format: "collector end to end: %9.0f records/s = %10.0f values/s", recordRate, values / collectorSeconds
            ))
        printLine(String(format: "  ratio to libzmq:     %.3f", recordRate / zmqRate))
        printLine(String(format: "  ratio to SQLite:     %.3f", recordRate / sqliteRecordRate))
        let limit = min(zmqRate, sqliteRecordRate)
        printLine(String(format: "  ratio to the slower limit: %.3f (target ≥ 0.5)", recordRate / limit))
        if !latencies.isEmpty {
            let p50 = latencies[latencies.count / 2] * 1000
            let p99 = latencies[min(latencies.count - 1, latencies.count * 99 / 100)] * 1000
            printLine(
                String(
                    format: "  last record → stored reduction: p50 %.1f ms, p99 %.1f ms over %d steps", p50, p99,
                    latencies.count))
        }
        printLine(
            String(
                format: "peak memory: %.0f MiB (%.0f MiB before the measurements, the workload held in memory)",
                peakResidentMiB(), memoryBefore))
        if let failure = collector.failure {
            printError("chorus bench: the collector failed: \(failure)")
            return 1
        }
        return 0
    }

    /// The messages of one benchmark run, encoded once.
    struct Workload {
        let ranks: Int
        let recordCount: Int
        /// Hellos, records (ranks interleaved step by step), ends.
        let messages: [[UInt8]]

        init(ranks: Int, keys: Int, steps: Int) {
            self.ranks = ranks
            recordCount = ranks * steps
            var encoder = WireEncoder()
            var messages: [[UInt8]] = []
            messages.reserveCapacity(ranks * (steps + 2))
            let senders = (0..<ranks).map { Sender(run: "bench", rank: Int32($0), incarnation: "bench\($0)") }
            let now = Date().timeIntervalSince1970
            for sender in senders {
                messages.append(encoder.encode(.hello(Hello(sender: sender, worldSize: Int32(ranks), startTime: now))))
            }
            let names = (0..<keys).map { "train/metric_\($0)" }
            var generator = SeededGenerator(seed: 42)
            for step in 0..<steps {
                for sender in senders {
                    let values = names.map { MetricEntry($0, .double(Double(generator.next() % 1_000_000) / 997)) }
                    let record = LogRecord(
                        sender: sender,
                        attempt: 0,
                        sequenceNumber: Int64(step + 1),
                        step: Int64(step),
                        timestamp: now,
                        values: values
                    )
                    messages.append(encoder.encode(.log(record)))
                }
            }
            for sender in senders {
                messages.append(
                    encoder.encode(.end(End(sender: sender, timestamp: now, lastSequenceNumber: Int64(steps)))))
            }
            self.messages = messages
        }
    }

    /// Seconds for libzmq alone to move every message from a PUSH to a PULL socket.
    static func measureZeroMQ(_ messages: [[UInt8]], endpoint: String) throws -> Double {
        let context = try ZMQContext()
        let pull = try ZMQSocket(context, type: .pull)
        try pull.setReceiveHighWaterMark(100_000)
        try pull.bind(endpoint)
        let bound = try pull.lastEndpoint
        let sender = Thread {
            guard let push = try? ZMQSocket(context, type: .push) else { return }
            try? push.setSendHighWaterMark(100_000)
            try? push.connect(bound)
            for message in messages { _ = try? push.send(message) }
            try? push.setLinger(milliseconds: 10_000)
        }
        let started = wallClockSeconds()
        sender.start()
        var received = 0
        while received < messages.count {
            if try pull.receive(wait: true, { _, _ in true }) != nil { received += 1 }
        }
        return wallClockSeconds() - started
    }

    /// Seconds from the first message sent to the collector having committed all of them.
    static func measureCollector(_ collector: Collector, workload: Workload) throws -> Double {
        let endpoint = collector.boundEndpoints[0]
        let messages = workload.messages
        let context = try ZMQContext()
        let sender = Thread {
            guard let push = try? ZMQSocket(context, type: .push) else { return }
            try? push.setSendHighWaterMark(100_000)
            try? push.connect(endpoint)
            for message in messages { _ = try? push.send(message) }
            try? push.setLinger(milliseconds: 30_000)
        }
        let started = wallClockSeconds()
        sender.start()
        guard collector.waitUntilHandled(Int64(messages.count), timeout: 3_600) else {
            throw ReplayError("the collector did not take every message within an hour")
        }
        return wallClockSeconds() - started
    }

    /// The process's peak resident memory so far, from /proc/self/status, in MiB.
    static func peakResidentMiB() -> Double {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
            let kilobytes = line.split(separator: " ").compactMap({ Double($0) }).first
        else { return 0 }
        return kilobytes / 1024
    }
}


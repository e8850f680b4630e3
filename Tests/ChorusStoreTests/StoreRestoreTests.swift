import ChorusCore
import Foundation
import Testing

@testable import ChorusStore

/// A two-rank run with an evaluator, a definition, a summary value, a NaN and a text value,
/// whose rank 1 lags so that steps are open, and a restart of rank 0 as attempt 1.
private struct SmallRun {
    let messages: [WireMessage]

    init() {
        let ranks = (0..<3).map { Sender(run: "job", rank: Int32($0), incarnation: "r\($0)") }
        let restarted = Sender(run: "job", rank: 0, incarnation: "r0-again")
        var messages: [WireMessage] = ranks.prefix(2).map {
            .hello(Hello(sender: $0, worldSize: 2, attempt: 0, resumeStep: nil, startTime: 100))
        }
        messages.append(.define(MetricDefinition(sender: ranks[0], pattern: "val/*", reduce: .max, goal: .max)))
        messages.append(.summary(UserSummary(sender: ranks[0], values: [MetricEntry("note", .other(#""ok""#))])))
        var sequence: [Int32: Int64] = [:]
        func log(_ sender: Sender, attempt: Int64, step: Int64, _ values: [MetricEntry]) -> WireMessage {
            let next = sequence[sender.rank * 10 + Int32(attempt), default: 0] + 1
            sequence[sender.rank * 10 + Int32(attempt)] = next
            return .log(
                LogRecord(
                    sender: sender, attempt: attempt, sequenceNumber: next, step: step,
                    timestamp: 100 + Double(step), values: values
                )
            )
        }
        for step in Int64(0)..<40 {
            let loss = MetricValue.double(1 / Double(step + 1))
            messages.append(log(ranks[0], attempt: 0, step: step, [MetricEntry("loss", loss)]))
            if step < 30 {
                let value: MetricValue = step == 7 ? .double(.nan) : .double(Double(step) / 3)
                messages.append(
                    log(
                        ranks[1], attempt: 0, step: step,
                        [MetricEntry("loss", value), MetricEntry("phase", .other(#""s\#(step)""#))])
                )
            }
            if step % 10 == 0 {
                messages.append(
                    log(ranks[2], attempt: 0, step: step, [MetricEntry("val/acc", .double(0.5 + Double(step) / 100))]))
            }
        }
        messages.append(.hello(Hello(sender: restarted, worldSize: 2, attempt: 1, resumeStep: 35, startTime: 200)))
        for step in Int64(35)..<45 {
            messages.append(log(restarted, attempt: 1, step: step, [MetricEntry("loss", .double(2 / Double(step)))]))
        }
        for step in Int64(30)..<45 {
            messages.append(log(ranks[1], attempt: 0, step: step, [MetricEntry("loss", .integer(step))]))
        }
        messages.append(.end(End(sender: restarted, timestamp: 300, lastSequenceNumber: 10)))
        messages.append(.end(End(sender: ranks[1], timestamp: 300, lastSequenceNumber: sequence[10]!)))
        self.messages = messages
    }
}

@Suite("A collector that starts again reads each run back from its SQLite store")
struct StoreRestoreTests {
    private func scratch() throws -> String {
        let directory = NSTemporaryDirectory() + "chorus-restore-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        return directory
    }

    private func commit(_ merger: RunMerger, to store: Store) throws {
        try store.begin()
        try store.writeStatus(merger.status(), now: 0)
        try store.commit()
    }

    /// The history, step reductions and summary of `run` as text that compares exactly.
    private func contents(of path: String) throws -> [String] {
        let reader = try StoreReader(path: path)
        var lines: [String] = []
        try reader.forEachHistoryRow(run: "job") { lines.append("\($0)") }
        try reader.forEachStep(run: "job") { step in
            // When the last record arrived is the collector's clock, not the run's.
            var step = step
            step.lastRecordAt = nil
            lines.append("\(step)")
        }
        lines.append("\(try reader.summary(run: "job"))")
        return lines
    }

    @Test("stopped anywhere, started again on the file and sent its last records again: the same outcome")
    func restartAnywhere() throws {
        let directory = try scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let messages = SmallRun().messages
        let configuration = MergeConfiguration()

        let referencePath = "\(directory)/reference.sqlite"
        do {
            let store = try Store(path: referencePath)
            let merger = try RunMerger(run: "job", configuration: configuration, store: store)
            try store.begin()
            for message in messages { try merger.apply(message, now: 1) }
            try commit(merger, to: store)
            #expect(merger.isFinished)
        }
        let reference = try contents(of: referencePath)
        #expect(reference.count > 100)

        for cut in stride(from: 5, to: messages.count, by: 17) {
            let path = "\(directory)/cut-\(cut).sqlite"
            var before: RunStatus?
            do {
                let store = try Store(path: path)
                let merger = try RunMerger(run: "job", configuration: configuration, store: store)
                try store.begin()
                for message in messages[..<cut] { try merger.apply(message, now: 1) }
                try commit(merger, to: store)
                before = merger.status()
            }
            let store = try Store(path: path)
            let merger = try RunMerger(run: "job", configuration: configuration, store: store, now: 2)
            let saved = try #require(before)
            #expect(merger.continuesStoredRun)
            #expect(merger.statistics == saved.statistics, "cut \(cut)")
            #expect(merger.openStepCount == saved.openStepCount, "cut \(cut)")
            #expect(
                merger.summaries
                    == Dictionary(
                        uniqueKeysWithValues: saved.keys.filter { !$0.summary.isEmpty }.map { ($0.name, $0.summary) }),
                "cut \(cut)")
            for (rank, state) in saved.ranks {
                #expect(merger.ranks[rank]?.incarnations == state.incarnations, "cut \(cut) rank \(rank)")
                #expect(merger.ranks[rank]?.supersedeFrom == state.supersedeFrom, "cut \(cut) rank \(rank)")
                #expect(merger.ranks[rank]?.status == state.status, "cut \(cut) rank \(rank)")
            }
            try store.begin()
            let resent = messages[max(0, cut - 6)..<cut].filter { if case .log = $0 { true } else { false } }
            for message in resent + messages[cut...] { try merger.apply(message, now: 3) }
            try commit(merger, to: store)
            #expect(merger.statistics.duplicates == Int64(resent.count), "cut \(cut)")
            let restarted = try contents(of: path)
            #expect(
                restarted == reference,
                "cut \(cut): \(zip(restarted, reference).first { $0 != $1 }.map { "\($0)" } ?? "lengths differ")")
        }
    }

    @Test("an older store is upgraded in place and keeps its rows", arguments: [1, 2])
    func upgrade(fromVersion version: Int) throws {
        let directory = try scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = "\(directory)/old.sqlite"
        do {
            let store = try Store(path: path)
            try store.begin()
            try store.apply(.key(id: 0, name: "loss"), run: "job")
            try store.commit()
        }
        do {
            // Make the file what that version wrote.
            let connection = try SQLiteConnection(path: path, mode: .readWrite(create: false))
            let addedSince = [1: ["greeted", "received_seqs", "durable_seq", "duplicates", "late"], 2: ["skipped"]]
            for column in (version...2).flatMap({ addedSince[$0]! }) {
                try connection.execute("ALTER TABLE incarnations DROP COLUMN \(column)")
            }
            if version == 1 {
                try connection.execute("DROP TABLE attempts; DROP TABLE metric_rules")
            }
            try connection.execute("UPDATE meta SET value = '\(version)' WHERE name = 'schema_version'")
        }
        #expect(throws: StoreError.self) { try StoreReader(path: path) }
        let store = try Store(path: path)
        #expect(try store.keyNames(run: "job") == ["loss"])
        let reader = try StoreReader(path: path)
        #expect(try reader.ranks(run: "job").isEmpty)
        let upgraded = try SQLiteConnection(path: path, mode: .readOnly)
            .prepare("SELECT value FROM meta WHERE name = 'schema_version'").rows()
        #expect(upgraded.first?.first == .text("3"))
        let columns = try SQLiteConnection(path: path, mode: .readOnly)
            .prepare("SELECT name FROM pragma_table_info('incarnations')").rows().compactMap { $0.first?.textValue }
        #expect(columns.contains("skipped") && columns.contains("durable_seq"))
    }
}

import ChorusCore

/// Read-only access to a store, for `chorus export`, `show`, `status` and `runs`, and for
/// tests. It may be opened while a collector writes the same file.
public final class StoreReader {
    /// The database file.
    public let path: String
    private let connection: SQLiteConnection

    /// Opens the store at `path` for reading.
    /// - Throws: ``StoreError`` if there is no such file or it is not a Chorus store.
    public init(path: String) throws {
        self.path = path
        let version: SQLiteValue?
        do {
            connection = try SQLiteConnection(path: path, mode: .readOnly)
            version = try connection.prepare("SELECT value FROM meta WHERE name = 'schema_version'").rows().first?.first
        } catch {
            throw StoreError("cannot read a Chorus store at \(path): \(error)")
        }
        guard version == .text(String(StoreSchema.version)) else {
            throw StoreError(
                "the store \(path) has schema version \(version?.textValue ?? "?"); this chorus reads version "
                    + "\(StoreSchema.version). A collector of this version upgrades an older store "
                    + "when it opens it: "
                    + "chorus collect --store \(path)"
            )
        }
    }

    /// Every run, by name.
    public func runs() throws -> [RunRecord] {
        try connection.prepare(
            """
            SELECT name, world_size, start_time, finished, received, duplicates, late, rejected, rows, open_steps,
                max_open_steps_seen, updated_at, (SELECT count(*) FROM steps WHERE steps.run_id = runs.run_id),
                (SELECT CAST(total(skipped) AS INTEGER) FROM incarnations WHERE incarnations.run_id = runs.run_id)
            FROM runs ORDER BY name
            """
        ).rows().map { row in
            RunRecord(
                name: row[0].textValue ?? "",
                worldSize: row[1].integerValue.map { Int32($0) },
                startTime: row[2].realValue,
                finished: row[3].integerValue == 1,
                received: row[4].integerValue ?? 0,
                duplicates: row[5].integerValue ?? 0,
                late: row[6].integerValue ?? 0,
                rejected: row[7].integerValue ?? 0,
                rows: row[8].integerValue ?? 0,
                openSteps: row[9].integerValue ?? 0,
                maxOpenStepsSeen: row[10].integerValue ?? 0,
                updatedAt: row[11].realValue,
                completedSteps: row[12].integerValue ?? 0,
                skipped: row[13].integerValue ?? 0
            )
        }
    }

    /// Messages rejected, by reason, over the store's life.
    public func rejections() throws -> [RejectionTally] {
        try connection.prepare(
            "SELECT reason, count, last_error, last_sender, last_at FROM rejections ORDER BY count DESC, reason"
        ).rows().map { row in
            RejectionTally(
                reason: row[0].textValue ?? "",
                count: row[1].integerValue ?? 0,
                lastError: row[2].textValue ?? "",
                lastSender: row[3].textValue,
                lastAt: row[4].realValue ?? 0
            )
        }
    }

    /// The run called `name`.
    /// - Throws: ``StoreError`` naming the runs there are, if there is none of that name.
    public func run(_ name: String) throws -> RunRecord {
        let all = try runs()
        guard let run = all.first(where: { $0.name == name }) else {
            let names = all.map(\.name).joined(separator: ", ")
            throw StoreError("no run \"\(name)\" in \(path); runs there: \(names.isEmpty ? "none" : names)")
        }
        return run
    }

    /// The ranks of a run, with their incarnations.
    public func ranks(run: String) throws -> [RankRecord] {
        let ranks = try connection.prepare(
            """
            SELECT rank, status, last_step, last_heard FROM ranks JOIN runs USING (run_id)
            WHERE runs.name = ? ORDER BY rank
            """
        ).rows([.text(run)])
        let incarnations = try connection.prepare(
            """
            SELECT i.rank, i.incarnation, i.attempt, i.start_time, i.ended, i.received, i.last_seq, i.missing, i.gaps,
                i.durable_seq, i.duplicates, i.late, i.skipped
            FROM incarnations AS i JOIN runs USING (run_id) WHERE runs.name = ? ORDER BY i.rank, i.attempt, i.start_time
            """
        ).rows([.text(run)])
        return ranks.map { row in
            let rank = Int32(row[0].integerValue ?? 0)
            return RankRecord(
                rank: rank,
                status: row[1].textValue ?? "",
                lastStep: row[2].integerValue,
                lastHeard: row[3].realValue,
                incarnations: incarnations.filter { $0[0].integerValue == Int64(rank) }.map { incarnation in
                    IncarnationRecord(
                        id: incarnation[1].textValue ?? "",
                        attempt: incarnation[2].integerValue ?? 0,
                        startTime: incarnation[3].realValue ?? 0,
                        ended: incarnation[4].integerValue == 1,
                        received: incarnation[5].integerValue ?? 0,
                        lastSequenceNumber: incarnation[6].integerValue ?? 0,
                        missing: incarnation[7].integerValue ?? 0,
                        gaps: incarnation[8].textValue ?? "",
                        durableSequenceNumber: incarnation[9].integerValue ?? 0,
                        duplicates: incarnation[10].integerValue ?? 0,
                        late: incarnation[11].integerValue ?? 0,
                        skipped: incarnation[12].integerValue ?? 0
                    )
                }
            )
        }
    }

    /// The names of every key `run` logged, sorted.
    public func keyNames(run: String) throws -> [String] {
        try connection.prepare("SELECT keys.name FROM keys JOIN runs USING (run_id) WHERE runs.name = ? ORDER BY 1")
            .rows([.text(run)]).compactMap { $0[0].textValue }
    }

    /// Calls `body` with each history row of `run` in (step, rank) order, values by key name.
    public func forEachHistoryRow(run: String, _ body: (HistoryRow) throws -> Void) throws {
        let statement = try connection.prepare(
            """
            SELECT rows.step, rows.rank, rows.timestamp, keys.name, cells.value, cells.text
            FROM rows JOIN runs USING (run_id)
            LEFT JOIN cells ON cells.run_id = rows.run_id AND cells.step = rows.step AND cells.rank = rows.rank
                AND cells.superseded = 0
            LEFT JOIN keys ON keys.run_id = cells.run_id AND keys.key_id = cells.key_id
            WHERE runs.name = ? AND rows.superseded = 0
            ORDER BY rows.step, rows.rank, keys.name
            """
        )
        try statement.bind([.text(run)])
        var current: HistoryRow?
        while try statement.step() {
            let step = statement.int64(at: 0)
            let rank = Int32(statement.int64(at: 1))
            if let row = current, row.step != step || row.rank != rank {
                try body(row)
                current = nil
            }
            if current == nil {
                current = HistoryRow(step: step, rank: rank, timestamp: statement.double(at: 2), values: [])
            }
            if let key = statement.text(at: 3) {
                current!.values.append(
                    MetricEntry(key, Store.metricValue(statement.value(at: 4), statement.value(at: 5)))
                )
            }
        }
        if let row = current { try body(row) }
    }

    /// Calls `body` with each complete step of `run` in order, with its reductions by key name.
    public func forEachStep(run: String, _ body: (StepRecord) throws -> Void) throws {
        let statement = try connection.prepare(
            """
            SELECT steps.step, steps.missing, steps.forced, keys.name, count, nonfinite, sum, mean, min, min_rank,
                max, max_rank, steps.last_record_at
            FROM steps JOIN runs USING (run_id)
            LEFT JOIN reductions ON reductions.run_id = steps.run_id AND reductions.step = steps.step
            LEFT JOIN keys ON keys.run_id = reductions.run_id AND keys.key_id = reductions.key_id
            WHERE runs.name = ?
            ORDER BY steps.step, keys.name
            """
        )
        try statement.bind([.text(run)])
        var current: StepRecord?
        while try statement.step() {
            let step = statement.int64(at: 0)
            if let record = current, record.step != step {
                try body(record)
                current = nil
            }
            if current == nil {
                current = StepRecord(
                    step: step,
                    missing: Store.ranks(in: statement.text(at: 1) ?? "[]"),
                    forced: statement.int64(at: 2) == 1,
                    lastRecordAt: statement.isNull(at: 12) ? nil : statement.double(at: 12),
                    reductions: []
                )
            }
            guard let key = statement.text(at: 3) else { continue }
            let reduction = KeyReduction(
                count: Int(statement.int64(at: 4)),
                nonfinite: Int(statement.int64(at: 5)),
                sum: Self.number(statement.value(at: 6)),
                mean: statement.isNull(at: 7) ? nil : statement.double(at: 7),
                min: Self.number(statement.value(at: 8)),
                minRank: statement.isNull(at: 9) ? nil : Int32(statement.int64(at: 9)),
                max: Self.number(statement.value(at: 10)),
                maxRank: statement.isNull(at: 11) ? nil : Int32(statement.int64(at: 11))
            )
            current!.reductions.append((key, reduction))
        }
        if let record = current { try body(record) }
    }

    /// The summary of `run` by key name, and the values users set.
    public func summary(run: String) throws -> RunSummary {
        var summary = RunSummary()
        for row in try connection.prepare(
            """
            SELECT key, first, first_step, last, last_step, min, min_step, max, max_step, best, mean, count,
                nonfinite, text
            FROM summary WHERE run = ? ORDER BY key
            """
        ).rows([.text(run)]) {
            func point(_ index: Int) -> SeriesPoint? {
                guard let value = row[index].realValue, let step = row[index + 1].integerValue else { return nil }
                return SeriesPoint(step: step, value: value)
            }
            summary.keys.append(
                KeySummaryRecord(
                    key: row[0].textValue ?? "",
                    first: point(1),
                    last: point(3),
                    min: point(5),
                    max: point(7),
                    best: row[9].realValue,
                    mean: row[10].realValue,
                    count: row[11].integerValue ?? 0,
                    nonfinite: row[12].integerValue ?? 0,
                    text: row[13].textValue
                )
            )
        }
        for row in try connection.prepare(
            "SELECT key, value, text FROM user_summary JOIN runs USING (run_id) WHERE runs.name = ? ORDER BY key"
        ).rows([.text(run)]) {
            summary.userValues.append(MetricEntry(row[0].textValue ?? "", Store.metricValue(row[1], row[2])))
        }
        for row in try connection.prepare(
            "SELECT rank, key, value, text, step FROM rank_last_values WHERE run = ? ORDER BY rank, key"
        ).rows([.text(run)]) {
            summary.rankLastValues.append(
                RankLastValue(
                    rank: Int32(row[0].integerValue ?? 0),
                    key: row[1].textValue ?? "",
                    value: Store.metricValue(row[2], row[3]),
                    step: row[4].integerValue ?? 0
                )
            )
        }
        return summary
    }

    private static func number(_ value: SQLiteValue) -> ReducedNumber? {
        switch value {
        case .integer(let integer): .integer(integer)
        case .real(let double): .double(double)
        default: nil
        }
    }
}

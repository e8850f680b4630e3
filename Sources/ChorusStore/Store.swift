import ChorusCore
import Foundation

/// The collector's SQLite store: every change the mergers make, written in batched
/// transactions to a WAL-mode database file that users may query while it grows.
///
/// A store is owned by one thread (the collector's merge loop). Reads made through it, by
/// the mergers revising complete steps, see the changes of the open transaction too.
public final class Store: HistoryStore {
    /// The database file.
    public let path: String
    let connection: SQLiteConnection
    private var runIDs: [String: Int64] = [:]
    /// The run of the last change: consecutive changes are almost always of one run.
    private var lastRun: (name: String, id: Int64)?
    private var statements: [UnsafeRawPointer: SQLiteStatement] = [:]
    private var dynamicStatements: [String: SQLiteStatement] = [:]
    private var inTransaction = false
    /// When the last record of each step completed in the open batch arrived.
    private var stepsCompletedSinceCommit: [Double] = []
    /// The clock completions are stamped with; the collector's wall clock.
    public var completionClock: () -> Double = { 0 }

    /// Opens (creating if needed) the store at `path`.
    /// - Parameter durable: when true, every commit waits for the disk (`synchronous=FULL`);
    ///   otherwise a commit survives a crash of the process but maybe not of the machine.
    /// - Throws: ``SQLiteError`` naming the file, or ``StoreError`` for a store of another version.
    public init(path: String, durable: Bool = false) throws {
        self.path = path
        // Metrics can be private: a new store is readable by its owner and group only, and
        // SQLite gives its -wal and -shm files the same permissions.
        if !FileManager.default.fileExists(atPath: path) {
            guard FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o640])
            else {
                throw StoreError("cannot create the store \(path): check that its directory exists and is writable")
            }
        }
        connection = try SQLiteConnection(path: path, mode: .readWrite(create: true))
        try connection.execute("PRAGMA journal_mode=WAL")
        try connection.execute("PRAGMA synchronous=\(durable ? "FULL" : "NORMAL")")
        let version = try Self.schemaVersion(connection)
        switch version {
        case nil, String(StoreSchema.version):
            try connection.execute(StoreSchema.statements)
            if version == nil {
                try connection.execute(
                    "INSERT INTO meta (name, value) VALUES ('schema_version', '\(StoreSchema.version)')"
                )
            }
        case "1", "2":
            try connection.execute("BEGIN IMMEDIATE")
            if version == "1" { try connection.execute(StoreSchema.upgradeFromVersion1) }
            try connection.execute(StoreSchema.upgradeFromVersion2)
            try connection.execute(StoreSchema.statements)
            try connection.execute("COMMIT")
        case let other?:
            throw StoreError(
                "store \(path) has schema version \(other); this chorus reads versions 1 to \(StoreSchema.version)"
            )
        }
    }

    /// The schema version a store file records, or `nil` for a new file.
    private static func schemaVersion(_ connection: SQLiteConnection) throws -> String? {
        let hasMeta = try connection.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'")
            .rows()
        guard !hasMeta.isEmpty else { return nil }
        let version = try connection.prepare("SELECT value FROM meta WHERE name = 'schema_version'").rows()
        return version.first?.first?.textValue
    }

    /// Starts a batch: every change until ``commit()`` lands in one transaction.
    public func begin() throws {
        guard !inTransaction else { return }
        try connection.execute("BEGIN IMMEDIATE")
        inTransaction = true
    }

    /// Commits the batch begun by ``begin()``, if any.
    /// - Returns: when the last record of each step the batch completed arrived, so that the
    ///   caller can tell how long each step took to be stored.
    @discardableResult
    public func commit() throws -> [Double] {
        guard inTransaction else { return [] }
        try connection.execute("COMMIT")
        inTransaction = false
        defer { stepsCompletedSinceCommit.removeAll(keepingCapacity: true) }
        return stepsCompletedSinceCommit
    }

    /// The integer id of run `name`, made if it is new.
    func runID(_ name: String) throws -> Int64 {
        if let last = lastRun, last.name == name { return last.id }
        if let id = runIDs[name] {
            lastRun = (name, id)
            return id
        }
        try statement("INSERT OR IGNORE INTO runs (name) VALUES (?)").run([.text(name)])
        let rows = try statement("SELECT run_id FROM runs WHERE name = ?").rows([.text(name)])
        guard case .integer(let id)? = rows.first?.first else {
            throw StoreError("run \(name) could not be registered in \(path)")
        }
        runIDs[name] = id
        return id
    }

    /// A prepared statement for `sql`, prepared once and kept. Keyed by the literal's address,
    /// so that finding it costs no hashing of the text on the hot path.
    func statement(_ sql: StaticString) throws -> SQLiteStatement {
        let key = UnsafeRawPointer(sql.utf8Start)
        if let prepared = statements[key] { return prepared }
        let prepared = try connection.prepare(sql.description)
        statements[key] = prepared
        return prepared
    }

    /// A prepared statement for SQL built at run time, prepared once and kept.
    func statement(built sql: String) throws -> SQLiteStatement {
        if let prepared = dynamicStatements[sql] { return prepared }
        let prepared = try connection.prepare(sql)
        dynamicStatements[sql] = prepared
        return prepared
    }

    // MARK: - HistoryStore

    /// Applies one change of `run`.
    public func apply(_ change: HistoryChange, run: String) throws {
        let id = SQLiteValue.integer(try runID(run))
        switch change {
        case .key(let key, let name):
            try statement("INSERT OR IGNORE INTO keys (run_id, key_id, name) VALUES (?, ?, ?)")
                .run([id, .integer(Int64(key)), .text(name)])
        case .row(let step, let rank, let reportAttempt, let timestamp, let superseded):
            try statement(
                """
                INSERT INTO rows (run_id, step, rank, report_attempt, timestamp, superseded)
                VALUES (?, ?, ?, ?, ?, ?)
                ON CONFLICT (run_id, step, rank) DO UPDATE SET report_attempt = excluded.report_attempt,
                    timestamp = excluded.timestamp, superseded = excluded.superseded
                """
            ).run([
                id, .integer(step), .integer(Int64(rank)), .integer(reportAttempt), .real(timestamp),
                .integer(superseded ? 1 : 0),
            ])
        case .cell(let step, let rank, let cell, let superseded):
            let (value, text) = Self.columns(of: cell.value)
            try statement(
                """
                INSERT INTO cells (run_id, step, rank, key_id, value, text, attempt, incarnation, start_time,
                    seq, superseded)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (run_id, step, rank, key_id) DO UPDATE SET value = excluded.value,
                    text = excluded.text, attempt = excluded.attempt, incarnation = excluded.incarnation,
                    start_time = excluded.start_time, seq = excluded.seq, superseded = excluded.superseded
                """
            ).run([
                id, .integer(step), .integer(Int64(rank)), .integer(Int64(cell.key)), value, text,
                .integer(cell.priority.attempt), .text(cell.priority.incarnation),
                .real(cell.priority.incarnationStart), .integer(cell.priority.sequenceNumber),
                .integer(superseded ? 1 : 0),
            ])
        case .cellReplaced(let step, let rank, let cell):
            let (value, text) = Self.columns(of: cell.value)
            try statement(
                """
                INSERT INTO replaced_cells (run_id, step, rank, key_id, value, text, attempt, incarnation,
                    start_time, seq)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """
            ).run([
                id, .integer(step), .integer(Int64(rank)), .integer(Int64(cell.key)), value, text,
                .integer(cell.priority.attempt), .text(cell.priority.incarnation),
                .real(cell.priority.incarnationStart), .integer(cell.priority.sequenceNumber),
            ])
        case .stepCompleted(let step, let completion):
            let missing = "[" + completion.missing.map(String.init).joined(separator: ",") + "]"
            try statement(
                """
                INSERT OR REPLACE INTO steps (run_id, step, missing, forced, last_record_at, completed_at)
                VALUES (?, ?, ?, ?, ?, ?)
                """
            ).run([
                id, .integer(step), .text(missing), .integer(completion.forced ? 1 : 0), .real(completion.lastArrival),
                .real(completionClock()),
            ])
            stepsCompletedSinceCommit.append(completion.lastArrival)
        case .reduction(let step, let key, let reduction):
            try statement(
                """
                INSERT OR REPLACE INTO reductions (run_id, step, key_id, count, nonfinite, sum, mean, min,
                    min_rank, max, max_rank)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """
            ).run([
                id, .integer(step), .integer(Int64(key)), .integer(Int64(reduction.count)),
                .integer(Int64(reduction.nonfinite)), Self.column(reduction.sum),
                reduction.mean.map(SQLiteValue.real) ?? .null, Self.column(reduction.min),
                reduction.minRank.map { .integer(Int64($0)) } ?? .null, Self.column(reduction.max),
                reduction.maxRank.map { .integer(Int64($0)) } ?? .null,
            ])
        case .reductionRemoved(let step, let key):
            try statement("DELETE FROM reductions WHERE run_id = ? AND step = ? AND key_id = ?")
                .run([id, .integer(step), .integer(Int64(key))])
        }
    }

    /// A complete step with every stored row and cell.
    public func loadStep(run: String, step: Int64) throws -> StepState? {
        let id = SQLiteValue.integer(try runID(run))
        let completion = try statement("SELECT missing, forced FROM steps WHERE run_id = ? AND step = ?")
            .rows([id, .integer(step)])
        guard let stored = completion.first else { return nil }
        let missing = Self.ranks(in: stored[0].textValue ?? "[]")
        return try self.step(
            step, run: id, completion: Completion(missing: missing, forced: stored[1].integerValue == 1))
    }

    /// A step's stored rows and cells.
    func step(_ step: Int64, run id: SQLiteValue, completion: Completion?) throws -> StepState {
        var rows: [Int32: Row] = [:]
        for row in try statement(
            "SELECT rank, report_attempt, timestamp FROM rows WHERE run_id = ? AND step = ?"
        ).rows([id, .integer(step)]) {
            let rank = Int32(row[0].integerValue ?? 0)
            rows[rank] = Row(
                rank: rank,
                reportAttempt: row[1].integerValue ?? 0,
                timestamp: row[2].realValue ?? 0
            )
        }
        for cell in try statement(
            """
            SELECT rank, key_id, value, text, attempt, incarnation, start_time, seq FROM cells
            WHERE run_id = ? AND step = ? ORDER BY rank, key_id
            """
        ).rows([id, .integer(step)]) {
            let rank = Int32(cell[0].integerValue ?? 0)
            let priority = CellPriority(
                attempt: cell[4].integerValue ?? 0,
                incarnationStart: cell[6].realValue ?? 0,
                incarnation: cell[5].textValue ?? "",
                sequenceNumber: cell[7].integerValue ?? 0
            )
            rows[rank, default: Row(rank: rank, reportAttempt: priority.attempt, timestamp: 0)].cells.append(
                Cell(
                    key: Int32(cell[1].integerValue ?? 0), value: Self.metricValue(cell[2], cell[3]), priority: priority
                )
            )
        }
        return StepState(step: step, rows: Array(rows.values), completion: completion)
    }

    /// Complete steps in `range` where `rank` has a row or cell of an attempt below `attempt`.
    public func steps(run: String, rank: Int32, below attempt: Int64, in range: ClosedRange<Int64>) throws -> [Int64] {
        let id = SQLiteValue.integer(try runID(run))
        let bounds: [SQLiteValue] = [
            id, .integer(Int64(rank)), .integer(attempt), .integer(range.lowerBound),
            .integer(range.upperBound),
        ]
        let rows = try statement(
            """
            SELECT step FROM rows WHERE run_id = ?1 AND rank = ?2 AND report_attempt < ?3 AND step BETWEEN ?4 AND ?5
            UNION
            SELECT step FROM cells WHERE run_id = ?1 AND rank = ?2 AND attempt < ?3 AND step BETWEEN ?4 AND ?5
            """
        ).rows(bounds)
        var steps = Set(rows.compactMap { $0[0].integerValue })
        let complete = try statement("SELECT step FROM steps WHERE run_id = ? AND step BETWEEN ? AND ?")
            .rows([id, .integer(range.lowerBound), .integer(range.upperBound)])
        steps.formIntersection(complete.compactMap { $0[0].integerValue })
        return steps.sorted()
    }

    /// The extremes of a key's headline series over the stored reductions.
    public func headlineExtremes(run: String, key: Int32, operation: ReduceOperation) throws -> HeadlineExtremes {
        let id = SQLiteValue.integer(try runID(run))
        let column = operation.rawValue
        func point(_ order: String) throws -> SeriesPoint? {
            let rows = try statement(
                built: """
                    SELECT step, \(column) FROM reductions WHERE run_id = ? AND key_id = ? AND \(column) IS NOT NULL
                    ORDER BY \(order) LIMIT 1
                    """
            ).rows([id, .integer(Int64(key))])
            guard let row = rows.first, let step = row[0].integerValue, let value = row[1].numericValue else {
                return nil
            }
            return SeriesPoint(step: step, value: value)
        }
        return HeadlineExtremes(
            first: try point("step ASC"),
            last: try point("step DESC"),
            min: try point("\(column) ASC, step ASC"),
            max: try point("\(column) DESC, step ASC")
        )
    }

    /// The names of the run's keys, in id order.
    public func keyNames(run: String) throws -> [String] {
        let id = SQLiteValue.integer(try runID(run))
        let rows = try statement("SELECT key_id, name FROM keys WHERE run_id = ? ORDER BY key_id").rows([id])
        return try rows.enumerated().map { index, row in
            guard row[0].integerValue == Int64(index), let name = row[1].textValue else {
                throw StoreError(
                    "the keys of run \(run) in \(path) are not numbered 0, 1, 2, …; the store is damaged"
                )
            }
            return name
        }
    }

    /// The live non-numeric value of `key` at the highest (step, rank).
    public func latestText(run: String, key: Int32) throws -> PlacedText? {
        let id = SQLiteValue.integer(try runID(run))
        let rows = try statement(
            """
            SELECT cells.step, cells.rank, cells.text FROM cells
            JOIN rows USING (run_id, step, rank)
            JOIN steps USING (run_id, step)
            WHERE cells.run_id = ? AND cells.key_id = ? AND cells.value IS NULL AND cells.text != 'NaN'
                AND cells.superseded = 0 AND rows.superseded = 0
            ORDER BY cells.step DESC, cells.rank DESC LIMIT 1
            """
        ).rows([id, .integer(Int64(key))])
        guard let row = rows.first, let step = row[0].integerValue, let rank = row[1].integerValue,
            let text = row[2].textValue
        else { return nil }
        return PlacedText(step: step, rank: Int32(rank), text: text)
    }

    // MARK: - Values

    /// The `value` and `text` columns of a metric value.
    static func columns(of value: MetricValue) -> (SQLiteValue, SQLiteValue) {
        switch value {
        case .integer(let integer): (.integer(integer), .null)
        case .double(let double) where double.isNaN: (.null, .text("NaN"))
        case .double(let double): (.real(double), .null)
        case .other(let text): (.null, .text(text))
        }
    }

    /// The metric value stored in a `value` and a `text` column.
    static func metricValue(_ value: SQLiteValue, _ text: SQLiteValue) -> MetricValue {
        switch (value, text) {
        case (.integer(let integer), _): .integer(integer)
        case (.real(let double), _): .double(double)
        case (_, .text("NaN")): .double(.nan)
        case (_, .text(let other)): .other(other)
        default: .other("null")
        }
    }

    static func column(_ number: ReducedNumber?) -> SQLiteValue {
        switch number {
        case .integer(let integer)?: .integer(integer)
        case .double(let double)?: .real(double)
        case nil: .null
        }
    }

    static func ranks(in list: String) -> [Int32] {
        list.split { $0 == "," || $0 == "[" || $0 == "]" }.compactMap { Int32($0) }
    }
}

/// A store that cannot be used as asked, with what to do about it.
public struct StoreError: Error, Sendable, CustomStringConvertible {
    /// What went wrong.
    public var message: String

    /// Creates an error.
    public init(_ message: String) {
        self.message = message
    }

    /// The message.
    public var description: String { message }
}

extension SQLiteValue {
    var integerValue: Int64? {
        if case .integer(let value) = self { return value }
        return nil
    }

    var realValue: Double? {
        switch self {
        case .real(let value): value
        case .integer(let value): Double(value)
        default: nil
        }
    }

    var numericValue: Double? { realValue }

    var textValue: String? {
        if case .text(let value) = self { return value }
        return nil
    }
}

/// A ``HistoryStore`` that keeps everything in dictionaries: for tests of the merge rules,
/// and as the reference a persistent store must agree with.
public final class InMemoryHistoryStore: HistoryStore {
    /// One stored row.
    public struct StoredRow: Sendable, Hashable {
        /// The highest attempt that reported it.
        public var reportAttempt: Int64
        /// Its latest timestamp.
        public var timestamp: Double
        /// Whether a higher attempt superseded it.
        public var superseded: Bool
    }

    /// One stored cell.
    public struct StoredCell: Sendable, Hashable {
        /// The cell.
        public var cell: Cell
        /// Whether a higher attempt superseded it.
        public var superseded: Bool
    }

    private struct RowKey: Hashable {
        var step: Int64
        var rank: Int32
    }

    private struct RunContents {
        var keyNames: [Int32: String] = [:]
        var rows: [RowKey: StoredRow] = [:]
        var cells: [RowKey: [Int32: StoredCell]] = [:]
        var replaced: [(step: Int64, rank: Int32, cell: Cell)] = []
        var completions: [Int64: Completion] = [:]
        var reductions: [Int64: [Int32: KeyReduction]] = [:]
    }

    private var runs: [String: RunContents] = [:]
    private var statuses: [String: RunStatus] = [:]

    /// Creates an empty store.
    public init() {}

    /// Applies one change.
    public func apply(_ change: HistoryChange, run: String) {
        var contents = runs[run] ?? RunContents()
        switch change {
        case .key(let id, let name):
            contents.keyNames[id] = name
        case .row(let step, let rank, let reportAttempt, let timestamp, let superseded):
            contents.rows[RowKey(step: step, rank: rank)] = StoredRow(
                reportAttempt: reportAttempt,
                timestamp: timestamp,
                superseded: superseded
            )
        case .cell(let step, let rank, let cell, let superseded):
            contents.cells[RowKey(step: step, rank: rank), default: [:]][cell.key] = StoredCell(
                cell: cell,
                superseded: superseded
            )
        case .cellReplaced(let step, let rank, let cell):
            contents.replaced.append((step, rank, cell))
        case .stepCompleted(let step, let completion):
            contents.completions[step] = completion
        case .reduction(let step, let key, let reduction):
            contents.reductions[step, default: [:]][key] = reduction
        case .reductionRemoved(let step, let key):
            contents.reductions[step]?[key] = nil
        }
        runs[run] = contents
    }

    /// A complete step as stored.
    public func loadStep(run: String, step: Int64) -> StepState? {
        guard let contents = runs[run], let completion = contents.completions[step] else { return nil }
        return Self.step(step, of: contents, completion: completion)
    }

    private static func step(_ step: Int64, of contents: RunContents, completion: Completion?) -> StepState {
        var rows: [Row] = []
        for (key, stored) in contents.rows where key.step == step {
            let cells = (contents.cells[key] ?? [:]).values.map(\.cell).sorted { $0.key < $1.key }
            rows.append(
                Row(rank: key.rank, cells: cells, reportAttempt: stored.reportAttempt, timestamp: stored.timestamp))
        }
        return StepState(step: step, rows: rows, completion: completion)
    }

    /// Complete steps where `rank` has a row or cell of an attempt below `attempt`.
    public func steps(run: String, rank: Int32, below attempt: Int64, in range: ClosedRange<Int64>) -> [Int64] {
        guard let contents = runs[run] else { return [] }
        var steps = Set<Int64>()
        for (key, cells) in contents.cells where key.rank == rank && range.contains(key.step) {
            if cells.values.contains(where: { $0.cell.priority.attempt < attempt }) { steps.insert(key.step) }
        }
        for (key, row) in contents.rows where key.rank == rank && range.contains(key.step) {
            if row.reportAttempt < attempt { steps.insert(key.step) }
        }
        return steps.filter { contents.completions[$0] != nil }.sorted()
    }

    /// The headline series' extremes over complete steps.
    public func headlineExtremes(run: String, key: Int32, operation: ReduceOperation) -> HeadlineExtremes {
        var extremes = HeadlineExtremes()
        guard let contents = runs[run] else { return extremes }
        for step in contents.reductions.keys.sorted() {
            guard let value = contents.reductions[step]?[key]?.headline(operation) else { continue }
            let point = SeriesPoint(step: step, value: value)
            if extremes.first == nil { extremes.first = point }
            extremes.last = point
            if extremes.min == nil || value < extremes.min!.value { extremes.min = point }
            if extremes.max == nil || value > extremes.max!.value { extremes.max = point }
        }
        return extremes
    }

    /// The names of the run's keys, in id order.
    public func keyNames(run: String) -> [String] {
        (runs[run]?.keyNames ?? [:]).sorted { $0.key < $1.key }.map(\.value)
    }

    /// The live non-numeric value of `key` at the highest (step, rank).
    public func latestText(run: String, key: Int32) -> PlacedText? {
        guard let contents = runs[run] else { return nil }
        var latest: PlacedText?
        for (rowKey, cells) in contents.cells {
            guard let stored = cells[key], !stored.superseded, case .other(let text) = stored.cell.value,
                contents.rows[rowKey]?.superseded == false, contents.completions[rowKey.step] != nil
            else { continue }
            if latest == nil || (rowKey.step, rowKey.rank) > (latest!.step, latest!.rank) {
                latest = PlacedText(step: rowKey.step, rank: rowKey.rank, text: text)
            }
        }
        return latest
    }

    /// Keeps `status` as the run's saved status, as the collector does at each commit.
    public func save(_ status: RunStatus) {
        statuses[status.run] = status
    }

    /// The status last saved.
    public func savedStatus(run: String) -> RunStatus? {
        statuses[run]
    }

    /// The highest complete step, or -1.
    public func highestCompleteStep(run: String) -> Int64 {
        runs[run]?.completions.keys.max() ?? -1
    }

    /// The steps with rows above the highest complete one.
    public func openSteps(run: String) -> [StepState] {
        guard let contents = runs[run] else { return [] }
        let highest = highestCompleteStep(run: run)
        let steps = Set(contents.rows.keys.map(\.step).filter { $0 > highest })
        return steps.sorted().map { Self.step($0, of: contents, completion: nil) }
    }

    /// Every live value at complete steps.
    public func completeValues(run: String) -> [(key: Int32, value: MetricValue)] {
        guard let contents = runs[run] else { return [] }
        var values: [(key: Int32, value: MetricValue)] = []
        for (rowKey, cells) in contents.cells
        where contents.completions[rowKey.step] != nil && contents.rows[rowKey]?.superseded == false {
            for stored in cells.values where !stored.superseded { values.append((stored.cell.key, stored.cell.value)) }
        }
        return values
    }

    /// The history of `run`: live rows ordered by (step, rank), with their live values by key name.
    public func history(run: String) -> [(step: Int64, rank: Int32, values: [String: MetricValue])] {
        guard let contents = runs[run] else { return [] }
        let keys = contents.rows.keys.filter { contents.rows[$0]?.superseded == false }
            .sorted { ($0.step, $0.rank) < ($1.step, $1.rank) }
        return keys.map { key in
            var values: [String: MetricValue] = [:]
            for stored in (contents.cells[key] ?? [:]).values where !stored.superseded {
                values[contents.keyNames[stored.cell.key] ?? "?"] = stored.cell.value
            }
            return (key.step, key.rank, values)
        }
    }

    /// The stored reductions of `run` by step and key name.
    public func reductions(run: String) -> [Int64: [String: KeyReduction]] {
        guard let contents = runs[run] else { return [:] }
        var result: [Int64: [String: KeyReduction]] = [:]
        for (step, byKey) in contents.reductions {
            for (key, reduction) in byKey { result[step, default: [:]][contents.keyNames[key] ?? "?"] = reduction }
        }
        return result
    }

    /// The completion of each complete step of `run`.
    public func completions(run: String) -> [Int64: Completion] {
        runs[run]?.completions ?? [:]
    }
}

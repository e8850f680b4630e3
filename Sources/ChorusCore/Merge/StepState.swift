/// The order in which writes to the same key of the same row win: a higher attempt, then a
/// later-started incarnation, then a higher sequence number. The incarnation id breaks the
/// remaining tie so that the winner never depends on arrival order.
public struct CellPriority: Sendable, Hashable, Comparable {
    /// The attempt of the write.
    public var attempt: Int64
    /// The start time of the writing incarnation.
    public var incarnationStart: Double
    /// The incarnation id.
    public var incarnation: String
    /// The record's sequence number.
    public var sequenceNumber: Int64

    /// Creates a priority.
    public init(attempt: Int64, incarnationStart: Double, incarnation: String, sequenceNumber: Int64) {
        self.attempt = attempt
        self.incarnationStart = incarnationStart
        self.incarnation = incarnation
        self.sequenceNumber = sequenceNumber
    }

    /// Whether `lhs` loses to `rhs`.
    public static func < (lhs: CellPriority, rhs: CellPriority) -> Bool {
        (lhs.attempt, lhs.incarnationStart, lhs.incarnation, lhs.sequenceNumber)
            < (rhs.attempt, rhs.incarnationStart, rhs.incarnation, rhs.sequenceNumber)
    }
}

/// The winning write of one key in one row.
public struct Cell: Sendable, Hashable {
    /// The key's id in its run.
    public var key: Int32
    /// The value.
    public var value: MetricValue
    /// Who wrote it, for deciding the next write.
    public var priority: CellPriority

    /// Creates a cell.
    public init(key: Int32, value: MetricValue, priority: CellPriority) {
        self.key = key
        self.value = value
        self.priority = priority
    }
}

/// One rank's row at one step: the winning write of each key, and the reports that made it.
public struct Row: Sendable, Hashable {
    /// The rank.
    public var rank: Int32
    /// The winning cell of each key, in the order keys first arrived.
    public var cells: [Cell] = []
    /// The highest attempt that reported this row (an empty report counts).
    public var reportAttempt: Int64
    /// The latest sender timestamp of the records merged into it.
    public var timestamp: Double

    /// Creates a row.
    public init(rank: Int32, cells: [Cell] = [], reportAttempt: Int64, timestamp: Double) {
        self.rank = rank
        self.cells = cells
        self.reportAttempt = reportAttempt
        self.timestamp = timestamp
    }

    /// Merges a write of `value` to `key`; returns the cell if it now wins.
    mutating func merge(key: Int32, value: MetricValue, priority: CellPriority) -> Cell? {
        if let index = cells.firstIndex(where: { $0.key == key }) {
            guard cells[index].priority < priority else { return nil }
            cells[index].value = value
            cells[index].priority = priority
            return cells[index]
        }
        let cell = Cell(key: key, value: value, priority: priority)
        cells.append(cell)
        return cell
    }

    /// Whether the row is in the history under `thresholds`: its highest report survives.
    func isLive(step: Int64, thresholds: [Int64: Int64]) -> Bool {
        !RankState.isSuperseded(attempt: reportAttempt, step: step, thresholds: thresholds)
    }

    /// The cells that are in the history under `thresholds`.
    func liveCells(step: Int64, thresholds: [Int64: Int64]) -> [Cell] {
        cells.filter { !RankState.isSuperseded(attempt: $0.priority.attempt, step: step, thresholds: thresholds) }
    }
}

/// How a step was completed.
public struct Completion: Sendable, Hashable {
    /// World ranks the step completed without (forced by the open-step bound, or lost).
    public var missing: [Int32]
    /// Whether the open-step bound forced it.
    public var forced: Bool
    /// When, on the collector's clock, the last record merged into the step arrived.
    public var lastArrival: Double

    /// Creates a completion.
    public init(missing: [Int32], forced: Bool, lastArrival: Double = 0) {
        self.missing = missing
        self.forced = forced
        self.lastArrival = lastArrival
    }
}

/// Every row of one step, and whether the step is complete.
public struct StepState: Sendable {
    /// The step.
    public let step: Int64
    /// The rows, ordered by rank.
    public private(set) var rows: [Row] = []
    /// Set once the step is complete.
    public var completion: Completion?
    /// When, on the collector's clock, the last record merged into it arrived.
    public var lastArrival: Double = 0

    /// Creates a step.
    public init(step: Int64, rows: [Row] = [], completion: Completion? = nil) {
        self.step = step
        self.rows = rows.sorted { $0.rank < $1.rank }
        self.completion = completion
    }

    /// The row of `rank`, made if it is new.
    mutating func withRow<Result>(
        rank: Int32,
        attempt: Int64,
        timestamp: Double,
        _ body: (inout Row) -> Result
    ) -> Result {
        var low = 0
        var high = rows.count
        while low < high {
            let middle = (low + high) / 2
            if rows[middle].rank < rank { low = middle + 1 } else { high = middle }
        }
        if low == rows.count || rows[low].rank != rank {
            rows.insert(Row(rank: rank, reportAttempt: attempt, timestamp: timestamp), at: low)
        } else {
            rows[low].reportAttempt = Swift.max(rows[low].reportAttempt, attempt)
            rows[low].timestamp = Swift.max(rows[low].timestamp, timestamp)
        }
        return body(&rows[low])
    }

    /// The row of `rank`, if there is one.
    public func row(rank: Int32) -> Row? {
        rows.first { $0.rank == rank }
    }

    /// The numeric and other values in the history at this step, by key, under the
    /// thresholds each rank has (`thresholds(rank)`).
    func liveValues(thresholds: (Int32) -> [Int64: Int64]) -> [Int32: [(rank: Int32, value: MetricValue)]] {
        var values: [Int32: [(rank: Int32, value: MetricValue)]] = [:]
        for row in rows {
            let rankThresholds = thresholds(row.rank)
            guard row.isLive(step: step, thresholds: rankThresholds) else { continue }
            for cell in row.liveCells(step: step, thresholds: rankThresholds) {
                values[cell.key, default: []].append((row.rank, cell.value))
            }
        }
        return values
    }
}

/// A change the merger made to a run's history, reductions or summary, in the order made.
///
/// A store applies them as they come; the merger reads back through the same store, so a
/// store must answer reads with every change it was given, committed or not.
public enum HistoryChange: Sendable {
    /// A key was seen for the first time in the run.
    case key(id: Int32, name: String)
    /// A row was made or changed; `superseded` rows are kept for audit, out of the history.
    case row(step: Int64, rank: Int32, reportAttempt: Int64, timestamp: Double, superseded: Bool)
    /// A cell won its key in a row, or its superseded state changed.
    case cell(step: Int64, rank: Int32, Cell, superseded: Bool)
    /// A cell of a lower attempt lost its place to a higher attempt's write; kept for audit.
    case cellReplaced(step: Int64, rank: Int32, Cell)
    /// A step completed.
    case stepCompleted(step: Int64, Completion)
    /// A key's reduction at a complete step, new or revised.
    case reduction(step: Int64, key: Int32, KeyReduction)
    /// A key has no numbers at a complete step any more.
    case reductionRemoved(step: Int64, key: Int32)
}

/// The headline series' first, last, smallest and largest points, as a store computes them.
public struct HeadlineExtremes: Sendable, Hashable {
    /// The point of the lowest step.
    public var first: SeriesPoint?
    /// The point of the highest step.
    public var last: SeriesPoint?
    /// The smallest value (the earliest step on ties).
    public var min: SeriesPoint?
    /// The largest value (the earliest step on ties).
    public var max: SeriesPoint?

    /// Creates extremes.
    public init(first: SeriesPoint? = nil, last: SeriesPoint? = nil, min: SeriesPoint? = nil, max: SeriesPoint? = nil) {
        self.first = first
        self.last = last
        self.min = min
        self.max = max
    }
}

/// One point of a series: a step and its value.
public struct SeriesPoint: Sendable, Hashable {
    /// The step.
    public var step: Int64
    /// The value.
    public var value: Double

    /// Creates a point.
    public init(step: Int64, value: Double) {
        self.step = step
        self.value = value
    }
}

/// A non-numeric value and the row it came from.
public struct PlacedText: Sendable, Hashable {
    /// The step.
    public var step: Int64
    /// The rank.
    public var rank: Int32
    /// The value's JSON text.
    public var text: String

    /// Creates a placed value.
    public init(step: Int64, rank: Int32, text: String) {
        self.step = step
        self.rank = rank
        self.text = text
    }
}

/// Where a run merger keeps what does not fit in memory: every change it makes, and the
/// complete steps it may have to revise when late data comes.
///
/// The collector's store is SQLite; tests use ``InMemoryHistoryStore``.
public protocol HistoryStore: AnyObject {
    /// Applies one change to `run`.
    func apply(_ change: HistoryChange, run: String) throws

    /// A complete step with every row and cell stored (superseded ones included), or `nil`.
    func loadStep(run: String, step: Int64) throws -> StepState?

    /// The complete steps in `range` at which `rank` has a row reported by an attempt below
    /// `attempt` or a cell it wrote, live or superseded.
    func steps(run: String, rank: Int32, below attempt: Int64, in range: ClosedRange<Int64>) throws -> [Int64]

    /// The extremes of the key's headline series over complete steps, under `operation`.
    func headlineExtremes(run: String, key: Int32, operation: ReduceOperation) throws -> HeadlineExtremes

    /// The names of the keys `run` has stored, in the order of their ids (the id of a name is
    /// its index), so that a merger that starts again on the same store keeps them.
    func keyNames(run: String) throws -> [String]

    /// The key's live non-numeric value at the highest (step, rank), if any.
    func latestText(run: String, key: Int32) throws -> PlacedText?

    // MARK: Starting again

    /// Where `run` stood when its status was last saved with the changes before it, or
    /// `nil` if the store holds no status of it. The keys' summaries are left out: the
    /// merger rebuilds them from the history.
    func savedStatus(run: String) throws -> RunStatus?

    /// The highest complete step of `run`, or -1 if none is.
    func highestCompleteStep(run: String) throws -> Int64

    /// Every step above the highest complete one that has a row: the steps that were open,
    /// with every row and cell stored (superseded ones included).
    func openSteps(run: String) throws -> [StepState]

    /// Every value in the history at a complete step, by key id, in no particular order.
    func completeValues(run: String) throws -> [(key: Int32, value: MetricValue)]
}

/// One key's summary over a run, kept up to date as steps complete and late data revises them.
///
/// `mean`, `count` and `nonfinite` come from every raw value in the history (never a mean of
/// means) and are updated exactly in both directions. `first`, `last`, `min` and `max`
/// follow the key's headline series, one value per complete step; when a revision takes
/// away the point one of them rests on, the summary is marked stale and rebuilt from the
/// store, since memory holds only the open steps.
public struct KeySummary: Sendable, Hashable {
    /// The point of the lowest step with a headline.
    public internal(set) var first: SeriesPoint?
    /// The point of the highest step with a headline.
    public internal(set) var last: SeriesPoint?
    /// The smallest headline (earliest step on ties).
    public internal(set) var min: SeriesPoint?
    /// The largest headline (earliest step on ties).
    public internal(set) var max: SeriesPoint?
    /// Numbers in the history, non-finite ones included.
    public internal(set) var count: Int64 = 0
    /// NaN and infinities among them.
    public internal(set) var nonfinite: Int64 = 0
    /// The value of a non-numeric key at the highest (step, rank).
    public internal(set) var latestText: PlacedText?
    /// Whether the extremes must be rebuilt from the store.
    var extremesStale = false
    /// Whether ``latestText`` must be rebuilt from the store.
    var textStale = false
    private var sum = ExactSum()

    /// Creates an empty summary.
    public init() {}

    /// Whether no value of the key is in the history.
    public var isEmpty: Bool { count == 0 && latestText == nil }

    /// The mean of every finite raw value, or `nil` without one.
    public var mean: Double? {
        let finite = count - nonfinite
        return finite > 0 ? sum.mean(count: Int(finite)) : nil
    }

    /// `min` or `max`, as `goal` says.
    public func best(_ goal: SummaryGoal?) -> SeriesPoint? {
        switch goal {
        case .min: min
        case .max: max
        case nil: nil
        }
    }

    mutating func add(_ value: MetricValue) {
        switch value {
        case .integer(let integer):
            count += 1
            sum.add(integer)
        case .double(let double) where double.isFinite:
            count += 1
            sum.add(double)
        case .double:
            count += 1
            nonfinite += 1
        case .other:
            break
        }
    }

    mutating func remove(_ value: MetricValue) {
        switch value {
        case .integer(let integer):
            count -= 1
            sum.remove(integer)
        case .double(let double) where double.isFinite:
            count -= 1
            sum.remove(double)
        case .double:
            count -= 1
            nonfinite -= 1
        case .other:
            break
        }
    }

    /// Moves the headline series at `step` from `old` to `new` (either may be `nil`).
    mutating func updateHeadline(step: Int64, from old: Double?, to new: Double?) {
        guard old != new else { return }
        if let new {
            if first == nil || step < first!.step { first = SeriesPoint(step: step, value: new) }
            if last == nil || step > last!.step { last = SeriesPoint(step: step, value: new) }
            if first?.step == step { first?.value = new }
            if last?.step == step { last?.value = new }
            if let current = min, current.step == step, new > current.value {
                extremesStale = true
            } else if min == nil || new < min!.value || (new == min!.value && step < min!.step) {
                min = SeriesPoint(step: step, value: new)
            }
            if let current = max, current.step == step, new < current.value {
                extremesStale = true
            } else if max == nil || new > max!.value || (new == max!.value && step < max!.step) {
                max = SeriesPoint(step: step, value: new)
            }
        } else if old != nil {
            let restsOnStep = [first, last, min, max].contains { $0?.step == step }
            if restsOnStep { extremesStale = true }
        }
    }

    /// Offers a non-numeric value at (step, rank); it wins if its row is the highest.
    mutating func offerText(_ placed: PlacedText) {
        if let current = latestText, (current.step, current.rank) > (placed.step, placed.rank) { return }
        latestText = placed
    }

    /// Withdraws a non-numeric value at (step, rank); a rebuild is needed if it was the one kept.
    mutating func withdrawText(step: Int64, rank: Int32) {
        if let current = latestText, current.step == step, current.rank == rank {
            textStale = true
        }
    }

    mutating func replaceExtremes(_ extremes: HeadlineExtremes) {
        first = extremes.first
        last = extremes.last
        min = extremes.min
        max = extremes.max
        extremesStale = false
    }

    mutating func replaceText(_ text: PlacedText?) {
        latestText = text
        textStale = false
    }
}

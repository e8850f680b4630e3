import ChorusCore

/// wandb's rules for `log(data, step:, commit:)`, with one difference: a step lower than the
/// current one is sent at once as its own row, never dropped.
///
/// It holds the current step and the pending row; each call says which rows are now ready
/// to send. No I/O: ``Run`` sends what it returns.
public struct StepAccumulator: Sendable {
    /// A row ready to send.
    public struct ReadyRow: Sendable, Hashable {
        /// Its step.
        public var step: Int64
        /// Its values, in the order first logged.
        public var values: [MetricEntry]
        /// The time of the latest call that wrote to it.
        public var timestamp: Double
    }

    /// The step a call without `step` logs at.
    public private(set) var currentStep: Int64 = 0
    private var pending: [MetricEntry] = []
    private var pendingIndex: [String: Int] = [:]
    private var pendingTimestamp = 0.0
    private var hasPending = false

    /// Starts at step 0 with nothing pending.
    public init() {}

    /// Applies one `log` call and returns the rows it makes ready, in order.
    public mutating func log(
        _ values: [MetricEntry],
        step: Int64?,
        commit: Bool?,
        timestamp: Double
    ) -> [ReadyRow] {
        var ready: [ReadyRow] = []
        if let step, step < currentStep {
            return [ReadyRow(step: step, values: values, timestamp: timestamp)]
        }
        if let step, step > currentStep {
            if let row = takePending() { ready.append(row) }
            currentStep = step
        }
        merge(values, timestamp: timestamp)
        // Without a step, a call commits unless told not to; with one, only when told to.
        let commits = step == nil ? (commit ?? true) : (commit ?? false)
        if commits, let row = takePending() {
            ready.append(row)
            currentStep += 1
        }
        return ready
    }

    /// The pending row, if any, as `finish()` sends it.
    public mutating func flush() -> ReadyRow? {
        takePending()
    }

    private mutating func merge(_ values: [MetricEntry], timestamp: Double) {
        hasPending = true
        pendingTimestamp = timestamp
        for entry in values {
            if let index = pendingIndex[entry.key] {
                pending[index].value = entry.value
            } else {
                pendingIndex[entry.key] = pending.count
                pending.append(entry)
            }
        }
    }

    private mutating func takePending() -> ReadyRow? {
        guard hasPending else { return nil }
        let row = ReadyRow(step: currentStep, values: pending, timestamp: pendingTimestamp)
        pending.removeAll(keepingCapacity: true)
        pendingIndex.removeAll(keepingCapacity: true)
        hasPending = false
        return row
    }
}

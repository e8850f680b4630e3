import ChorusCore

/// A run's history as wandb's `History` presents it: `add` logs a row at the current step
/// and commits it, and `startTime` is when the run started.
public final class History {
    private unowned let run: Run

    init(run: Run) {
        self.run = run
    }

    /// When the run started, in seconds since the Unix epoch.
    public var startTime: Double { run.startTime }

    /// The step the next row is added at.
    public var step: Int64 { run.currentStep }

    /// Adds a row at the current step and moves to the next one.
    public func add(_ row: [String: MetricValue]) {
        run.log(row, commit: true)
    }
}

/// The values a user sets on a run's summary; each assignment is sent to the collector,
/// which keeps it beside the summary it computes.
public final class Summary {
    private unowned let run: Run
    private var values: [String: MetricValue] = [:]

    init(run: Run) {
        self.run = run
    }

    /// The value set for `key`; setting one sends it.
    public subscript(key: String) -> MetricValue? {
        get { values[key] }
        set {
            values[key] = newValue
            if let newValue { run.setSummary(key, newValue) }
        }
    }
}

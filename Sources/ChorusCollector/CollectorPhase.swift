/// Where a ``Collector`` is in its life, as health checks see it.
public enum CollectorPhase: String, Sendable, Hashable, CustomStringConvertible {
    /// Created; the store is not open and nothing is bound yet.
    case starting
    /// The store is open, the endpoints are bound, and the loop receives.
    case running
    /// Asked to stop: draining, completing open steps and committing.
    case stopping
    /// The loop ended cleanly.
    case stopped
    /// The loop ended on an error (see ``Collector/failure``).
    case failed

    /// The phase's name.
    public var description: String { rawValue }
}

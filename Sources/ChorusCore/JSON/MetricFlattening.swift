/// Bounds on one message's `data` (section 10 of `protocol.md`).
public struct FlattenLimits: Sendable, Hashable {
    /// The most values after flattening.
    public var maxValues: Int
    /// The longest flattened key, in bytes of UTF-8.
    public var maxKeyBytes: Int
    /// The deepest nesting of arrays and objects, counting `data` itself as level 1: so
    /// `{"a": {"b": 1}}` has depth 2, and so has `{"a": [1]}`. Values kept whole (lists and
    /// `_type` objects) count too, since they are stored and written back as they are.
    public var maxDepth: Int

    /// Creates limits; the defaults are the protocol's.
    public init(maxValues: Int = 10_000, maxKeyBytes: Int = 256, maxDepth: Int = 32) {
        self.maxValues = maxValues
        self.maxKeyBytes = maxKeyBytes
        self.maxDepth = maxDepth
    }
}

/// Flattens a message's `data` into keys and values (section 4 of `protocol.md`).
///
/// - A nested object contributes its entries under `outer/inner` keys:
///   `{"train": {"loss": 1}}` gives `train/loss`.
/// - An object holding a `_type` field (a wandb histogram or media) is a value, kept whole.
/// - Numbers, strings, `true`/`false`, `null` and lists are values, kept as they are.
/// - An empty nested object contributes nothing: `{"a": {}}` flattens to no entries, as
///   there is no value to record. (An empty `data` is still a report; that is the caller's.)
/// - Two entries that flatten to the same key are an error naming it:
///   `{"a/b": 1, "a": {"b": 2}}`. Keys compare as Swift strings (canonical equivalence),
///   as every dictionary downstream will compare them.
///
/// The entries come out in document order, depth first. Duplicates are found by a short scan
/// while there are few entries and by a set after that, so the cost stays linear in the size
/// of `data`.
/// - Throws: ``FlattenError`` naming the key at fault.
public func flattenMetrics(
    _ data: JSONObject,
    limits: FlattenLimits = FlattenLimits()
) throws(FlattenError) -> [(key: String, value: JSONValue)] {
    var flattener = MetricFlattener(limits: limits)
    flattener.entries.reserveCapacity(max(0, min(data.count * 2, limits.maxValues)))
    try flattener.flatten(data, prefix: nil, depth: 1)
    return flattener.entries
}

/// The state of one flattening.
private struct MetricFlattener {
    let limits: FlattenLimits
    var entries: [(key: String, value: JSONValue)] = []
    /// The keys so far, once there are too many to scan (see ``isNew(_:)``).
    var seen: Set<String>? = nil

    /// Up to this many entries, a scan finds a repeated key faster than hashing does.
    static let scanLimit = 16

    init(limits: FlattenLimits) {
        self.limits = limits
    }

    /// Adds the entries of `object`, which sits at nesting level `depth`, under `prefix`.
    mutating func flatten(_ object: JSONObject, prefix: String?, depth: Int) throws(FlattenError) {
        if depth > limits.maxDepth {
            throw FlattenError(
                .tooDeep,
                key: prefix ?? "",
                "data nests deeper than the limit of \(limits.maxDepth) levels at key \(quoted(prefix ?? ""))"
            )
        }
        for (name, value) in object {
            let key = prefix.map { $0 + "/" + name } ?? name
            if case .object(let inner) = value, inner["_type"] == nil {
                try flatten(inner, prefix: key, depth: depth + 1)
            } else {
                try add(key, value, depth: depth)
            }
        }
    }

    private mutating func add(_ key: String, _ value: JSONValue, depth: Int) throws(FlattenError) {
        let keyBytes = key.utf8.count
        if keyBytes > limits.maxKeyBytes {
            throw FlattenError(
                .keyTooLong,
                key: key,
                "key \(quoted(key)) is \(keyBytes) bytes long, more than the limit of "
                    + "\(limits.maxKeyBytes) bytes of UTF-8"
            )
        }
        if !fitsDepth(value, level: depth + 1) {
            throw FlattenError(
                .tooDeep,
                key: key,
                "data nests deeper than the limit of \(limits.maxDepth) levels at key \(quoted(key))"
            )
        }
        guard isNew(key) else {
            throw FlattenError(
                .duplicateKey,
                key: key,
                "two entries of data flatten to the same key \(quoted(key))"
            )
        }
        guard entries.count < limits.maxValues else {
            throw FlattenError(
                .tooManyValues,
                key: key,
                "data holds more than the limit of \(limits.maxValues) values after flattening"
            )
        }
        entries.append((key, value))
    }

    /// Whether no entry has `key` yet; records it as taken.
    private mutating func isNew(_ key: String) -> Bool {
        if seen == nil, entries.count < Self.scanLimit {
            return !entries.contains { $0.key == key }
        }
        if seen == nil {
            seen = Set(entries.map(\.key))
        }
        return seen!.insert(key).inserted
    }

    /// Whether a value kept whole, whose containers would start at `level`, stays within
    /// the depth limit. The walk stops at the limit, so it never recurses further than that.
    private func fitsDepth(_ value: JSONValue, level: Int) -> Bool {
        switch value {
        case .array(let array):
            level <= limits.maxDepth && array.allSatisfy { fitsDepth($0, level: level + 1) }
        case .object(let object):
            level <= limits.maxDepth && object.allSatisfy { fitsDepth($0.value, level: level + 1) }
        default:
            true
        }
    }

    private func quoted(_ key: String) -> String {
        JSONWriter.quotedForMessage(key)
    }
}

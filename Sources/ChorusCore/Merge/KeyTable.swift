/// The keys of one run, each given a small integer id the first time it is seen, and the
/// definitions (`define` messages) that say how each is reduced and summarised.
struct KeyTable {
    private var ids: [String: Int32] = [:]
    private(set) var names: [String] = []
    private var rules: [String: MetricRule] = [:]
    private var resolved: [MetricRule?] = []

    /// The id of `name`, and whether it is new.
    mutating func id(for name: String) -> (id: Int32, isNew: Bool) {
        if let id = ids[name] { return (id, false) }
        let id = Int32(names.count)
        ids[name] = id
        names.append(name)
        resolved.append(rule(matching: name))
        return (id, true)
    }

    /// Every definition, by pattern.
    var definitions: [String: MetricRule] { rules }

    /// The id of `name`, if the run has seen it.
    func existingID(for name: String) -> Int32? { ids[name] }

    /// The headline reduction of key `id`.
    func reduce(_ id: Int32) -> ReduceOperation { resolved[Int(id)]?.reduce ?? .mean }

    /// The summary goal of key `id`.
    func goal(_ id: Int32) -> SummaryGoal? { resolved[Int(id)]?.goal }

    /// Adds or replaces the rule for `pattern`.
    /// - Returns: the ids of known keys whose headline reduction changed.
    mutating func define(_ pattern: String, _ rule: MetricRule) -> [Int32] {
        rules[pattern] = rule
        var changed: [Int32] = []
        for (index, name) in names.enumerated() {
            let before = resolved[index]
            let after = self.rule(matching: name)
            resolved[index] = after
            if (before?.reduce ?? .mean) != (after?.reduce ?? .mean) {
                changed.append(Int32(index))
            }
        }
        return changed
    }

    /// The rule for a key: an exact definition, else the longest matching `prefix*`.
    private func rule(matching name: String) -> MetricRule? {
        if let exact = rules[name] { return exact }
        var best: (length: Int, rule: MetricRule)?
        for (pattern, rule) in rules where pattern.hasSuffix("*") {
            let prefix = pattern.dropLast()
            if name.hasPrefix(prefix), prefix.count >= (best?.length ?? 0) {
                best = (prefix.count, rule)
            }
        }
        return best?.rule
    }
}

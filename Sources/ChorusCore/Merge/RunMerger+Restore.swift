extension RunMerger {
    /// Takes up a run where a saved status and the history in the store left it.
    ///
    /// The status and the history were written in one transaction, so they agree: the open
    /// steps are the stored steps above the highest complete one, and each key's summary is
    /// the sum of the values at complete steps, which the store hands back exactly.
    func restore(_ saved: RunStatus, now: Double) throws {
        worldSize = saved.worldSize
        startTime = saved.startTime
        isFinished = saved.isFinished
        statistics = saved.statistics
        userSummary = saved.userSummary
        for (pattern, rule) in saved.definitions.sorted(by: { $0.key < $1.key }) {
            _ = keys.define(pattern, rule)
        }
        ranks = saved.ranks.mapValues { state in
            var state = state
            state.lastHeard = now
            return state
        }
        // The store keeps skipped numbers per incarnation only.
        statistics.skipped = ranks.values.reduce(0) { total, rank in
            rank.incarnations.values.reduce(total) { $0.addingClamped($1.skipped) }
        }
        if let worldSize {
            for rank in 0..<worldSize where ranks[rank] == nil {
                ranks[rank] = RankState(rank: rank, now: now)
            }
        }

        changedRanks = Set(ranks.keys)
        completedThrough = try store.highestCompleteStep(run: run)
        for var state in try store.openSteps(run: run) {
            state.lastArrival = now
            openSteps[state.step] = state
        }
        openOrder = openSteps.keys.sorted()

        for (key, value) in try store.completeValues(run: run) {
            keySummaries[key, default: KeySummary()].add(value)
            if case .other = value { keySummaries[key]?.textStale = true }
        }
        for key in keySummaries.keys { keySummaries[key]?.extremesStale = true }
        try refreshStaleSummaries()

        recomputeFrontier()
        try advance()
    }
}

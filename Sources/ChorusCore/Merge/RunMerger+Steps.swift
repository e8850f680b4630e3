extension RunMerger {
    /// Runs `body` on step `step`, wherever it is: open, in the cache of complete steps, in
    /// the store, or new. A complete step's reductions and the summary are revised to match.
    func mutateStep(
        _ step: Int64,
        countsAsLate: Bool,
        thresholdsBefore: (Int32) -> [Int64: Int64],
        _ body: (inout StepState) throws -> Void
    ) throws {
        if var state = openSteps[step] {
            try body(&state)
            openSteps[step] = state
            return
        }
        var cached = completedSteps[step]
        if cached == nil, step <= completedThrough {
            cached = try store.loadStep(run: run, step: step)
        }
        if var state = cached {
            if countsAsLate { statistics.late += 1 }
            let before = state.liveValues(thresholds: thresholdsBefore)
            try body(&state)
            try revise(state, from: before)
            cache(state)
            return
        }
        if step <= max(completedThrough, frontier) {
            // A step never seen that every rank of the world has reached or passed (or that
            // lies below steps already complete): it is complete on arrival.
            if countsAsLate { statistics.late += 1 }
            completedThrough = max(completedThrough, step)
            var state = StepState(step: step, completion: Completion(missing: missingRanks(at: step), forced: false))
            try body(&state)
            state.completion?.lastArrival = state.lastArrival
            try store.apply(.stepCompleted(step: step, state.completion!), run: run)
            try revise(state, from: [:])
            cache(state)
            return
        }
        var state = StepState(step: step)
        try body(&state)
        openSteps[step] = state
        insertOpen(step)
        while openOrder.count > configuration.maxOpenSteps {
            try complete(openOrder[0], forced: true)
        }
        statistics.maxOpenStepsSeen = max(statistics.maxOpenStepsSeen, openOrder.count)
    }

    private func insertOpen(_ step: Int64) {
        if let last = openOrder.last, last > step {
            var low = 0
            var high = openOrder.count
            while low < high {
                let middle = (low + high) / 2
                if openOrder[middle] < step { low = middle + 1 } else { high = middle }
            }
            openOrder.insert(step, at: low)
        } else {
            openOrder.append(step)
        }
    }

    /// Recomputes the completion frontier and completes every open step at or below it;
    /// finishes the run when every rank of the world has finished or been lost.
    func advance() throws {
        guard worldSize != nil else { return }
        let allDone = recomputeFrontier()
        while let step = openOrder.first, step <= frontier {
            try complete(step, forced: false)
        }
        if allDone && !isFinished {
            try completeAllOpenSteps()
            isFinished = true
        } else if !allDone {
            isFinished = false
        }
    }

    /// Sets the frontier to the lowest step an active world rank has reached, and counts the
    /// ranks that hold it there, so that a record only costs a pass over the world when it
    /// moves the last of them.
    /// - Returns: whether every world rank has finished or been lost.
    @discardableResult
    func recomputeFrontier() -> Bool {
        guard let worldSize else { return false }
        var lowest = Int64.max
        var holders = 0
        var allDone = true
        for rank in 0..<worldSize {
            let state = ranks[rank]
            switch state?.status {
            case .finished?, .lost?:
                continue
            default:
                allDone = false
                let reached = state?.highestStep ?? -1
                if reached < lowest {
                    lowest = reached
                    holders = 1
                } else if reached == lowest {
                    holders += 1
                }
            }
        }
        frontier = lowest
        frontierHolders = holders
        return allDone
    }

    /// Completes the open step `step` (the lowest one), computing and storing its reductions.
    func complete(_ step: Int64, forced: Bool) throws {
        precondition(openOrder.first == step, "steps complete in order")
        openOrder.removeFirst()
        guard var state = openSteps.removeValue(forKey: step) else { return }
        completedThrough = max(completedThrough, step)
        let reportedRanks = Set(state.rows.map(\.rank))
        let missing = missingRanks(at: step).filter { !reportedRanks.contains($0) }
        state.completion = Completion(missing: missing, forced: forced, lastArrival: state.lastArrival)
        try store.apply(.stepCompleted(step: step, state.completion!), run: run)
        try revise(state, from: [:])
        cache(state)
    }

    /// World ranks that have not reached `step` and have not finished.
    func missingRanks(at step: Int64) -> [Int32] {
        guard let worldSize else { return [] }
        return (0..<worldSize).filter { rank in
            guard let state = ranks[rank] else { return true }
            return state.status != .finished && (state.highestStep ?? -1) < step
        }
    }

    /// Stores the reductions of a complete step whose live values were `before`, and moves
    /// the summary from `before` to what the step holds now.
    func revise(_ state: StepState, from before: [Int32: [(rank: Int32, value: MetricValue)]]) throws {
        let after = state.liveValues(thresholds: { self.thresholds(of: $0) })
        var touched = Set(before.keys)
        touched.formUnion(after.keys)
        for key in touched.sorted() {
            let old = before[key] ?? []
            let new = after[key] ?? []
            if old.elementsEqual(new, by: { $0.rank == $1.rank && $0.value == $1.value }) { continue }
            let oldReduction = KeyReduction(old)
            let newReduction = KeyReduction(new)
            if newReduction.count > 0 {
                try store.apply(.reduction(step: state.step, key: key, newReduction), run: run)
            } else if oldReduction.count > 0 {
                try store.apply(.reductionRemoved(step: state.step, key: key), run: run)
            }
            var summary = keySummaries[key] ?? KeySummary()
            for entry in old {
                summary.remove(entry.value)
                if case .other = entry.value { summary.withdrawText(step: state.step, rank: entry.rank) }
            }
            for entry in new {
                summary.add(entry.value)
                if case .other(let text) = entry.value {
                    summary.offerText(PlacedText(step: state.step, rank: entry.rank, text: text))
                }
            }
            let operation = keys.reduce(key)
            summary.updateHeadline(
                step: state.step,
                from: oldReduction.headline(operation),
                to: newReduction.headline(operation)
            )
            keySummaries[key] = summary
        }
        try refreshStaleSummaries()
    }

    /// Rebuilds from the store the summary parts a revision took the ground from under.
    func refreshStaleSummaries() throws {
        for (key, summary) in keySummaries where summary.extremesStale || summary.textStale {
            var rebuilt = summary
            if summary.extremesStale {
                rebuilt.replaceExtremes(try store.headlineExtremes(run: run, key: key, operation: keys.reduce(key)))
            }
            if summary.textStale {
                rebuilt.replaceText(try store.latestText(run: run, key: key))
            }
            keySummaries[key] = rebuilt
        }
    }

    /// Keeps a complete step in memory for late data, forgetting the oldest kept past the bound.
    func cache(_ state: StepState) {
        if completedSteps.updateValue(state, forKey: state.step) == nil {
            completedOrder.append(state.step)
        }
        if completedOrder.count > configuration.completedStepCache * 2 {
            let excess = completedOrder.count - configuration.completedStepCache
            for step in completedOrder.prefix(excess) { completedSteps[step] = nil }
            completedOrder.removeFirst(excess)
        }
    }

    /// Lowers (or, from a hello's resume step, sets) the step from which `attempt`
    /// supersedes the rank's lower attempts, and revises every step that changes.
    func lowerThreshold(rank: Int32, attempt: Int64, to step: Int64, fromResumeStep: Bool) throws {
        let thresholdsBefore = thresholds(of: rank)
        guard
            case .some(let previous) = ranks[rank]!.lowerThreshold(
                attempt: attempt,
                to: step,
                fromResumeStep: fromResumeStep
            )
        else { return }
        let thresholdsAfter = thresholds(of: rank)
        // Only cells of lower attempts can change; without any, recording the threshold is all.
        // Every attempt that logged (or announced a resume step) has a threshold, whichever
        // incarnation it came from: an incarnation's records may name different attempts.
        guard thresholdsBefore.keys.contains(where: { $0 < attempt }) else { return }
        // The steps whose state changes: from the lower of the two thresholds up to the higher
        // one, excluded, or up to the last step there is when there was none before.
        let affected: ClosedRange<Int64>
        switch previous {
        case nil: affected = step...Int64.max
        case let previous? where previous != step: affected = min(previous, step)...(max(previous, step) - 1)
        default: return
        }
        var steps = Set(openSteps.keys.filter { affected.contains($0) })
        steps.formUnion(completedSteps.keys.filter { affected.contains($0) })
        let storedUpTo = min(affected.upperBound, completedThrough)
        if affected.lowerBound <= storedUpTo {
            steps.formUnion(
                try store.steps(run: run, rank: rank, below: attempt, in: affected.lowerBound...storedUpTo)
            )
        }
        let before: (Int32) -> [Int64: Int64] = { other in
            other == rank ? thresholdsBefore : self.thresholds(of: other)
        }
        for step in steps.sorted() {
            try mutateStep(step, countsAsLate: false, thresholdsBefore: before) { state in
                try self.restate(rank: rank, in: &state, before: thresholdsBefore, after: thresholdsAfter)
            }
        }
    }

    /// Tells the store which of a rank's cells and row changed superseded state at one step.
    private func restate(
        rank: Int32,
        in state: inout StepState,
        before: [Int64: Int64],
        after: [Int64: Int64]
    ) throws {
        guard let row = state.row(rank: rank) else { return }
        let step = state.step
        let wasLive = row.isLive(step: step, thresholds: before)
        let isLive = row.isLive(step: step, thresholds: after)
        if wasLive != isLive {
            statistics.rows += isLive ? 1 : -1
            try store.apply(
                .row(
                    step: step,
                    rank: rank,
                    reportAttempt: row.reportAttempt,
                    timestamp: row.timestamp,
                    superseded: !isLive
                ),
                run: run
            )
        }
        for cell in row.cells {
            let wasSuperseded = RankState.isSuperseded(attempt: cell.priority.attempt, step: step, thresholds: before)
            let isSuperseded = RankState.isSuperseded(attempt: cell.priority.attempt, step: step, thresholds: after)
            if wasSuperseded != isSuperseded {
                try store.apply(.cell(step: step, rank: rank, cell, superseded: isSuperseded), run: run)
            }
        }
    }
}

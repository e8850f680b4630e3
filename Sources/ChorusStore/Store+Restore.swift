import ChorusCore

/// What a collector that starts again on an existing store reads back to carry on its runs.
extension Store {
    /// The run's counters, ranks, incarnations, attempt thresholds, rules and user summary,
    /// as the last commit wrote them; `nil` if no status of the run was ever committed.
    public func savedStatus(run: String) throws -> RunStatus? {
        let id = SQLiteValue.integer(try runID(run))
        let saved = try statement(
            """
            SELECT world_size, start_time, finished, received, duplicates, late, rejected, rows, open_steps,
                max_open_steps_seen
            FROM runs WHERE run_id = ? AND updated_at IS NOT NULL
            """
        ).rows([id])
        guard let columns = saved.first else { return nil }
        var statistics = RunStatistics()
        statistics.received = columns[3].integerValue ?? 0
        statistics.duplicates = columns[4].integerValue ?? 0
        statistics.late = columns[5].integerValue ?? 0
        statistics.rejected = columns[6].integerValue ?? 0
        statistics.rows = columns[7].integerValue ?? 0
        statistics.maxOpenStepsSeen = Int(columns[9].integerValue ?? 0)
        return RunStatus(
            run: run,
            worldSize: columns[0].integerValue.map { Int32($0) },
            startTime: columns[1].realValue,
            isFinished: columns[2].integerValue == 1,
            statistics: statistics,
            openStepCount: Int(columns[8].integerValue ?? 0),
            ranks: try savedRanks(run: id),
            userSummary: try savedUserSummary(run: id),
            definitions: try savedRules(run: id)
        )
    }

    private func savedRanks(run id: SQLiteValue) throws -> [Int32: RankState] {
        var incarnations: [Int32: [String: IncarnationState]] = [:]
        for row in try statement(
            """
            SELECT rank, incarnation, attempt, start_time, greeted, resume_step, received_seqs, last_seq, ended,
                duplicates, late, skipped
            FROM incarnations WHERE run_id = ?
            """
        ).rows([id]) {
            guard let rank = row[0].integerValue.map({ Int32($0) }), let incarnation = row[1].textValue else {
                continue
            }
            incarnations[rank, default: [:]][incarnation] = IncarnationState(
                id: incarnation,
                attempt: row[2].integerValue ?? 0,
                startTime: row[3].realValue ?? 0,
                greeted: row[4].integerValue == 1,
                resumeStep: row[5].integerValue,
                sequence: SequenceTracker(
                    received: Self.ranges(in: row[6].textValue ?? ""),
                    highestKnown: row[7].integerValue ?? 0
                ),
                ended: row[8].integerValue == 1,
                duplicates: row[9].integerValue ?? 0,
                late: row[10].integerValue ?? 0,
                skipped: row[11].integerValue ?? 0
            )
        }
        var thresholds: [Int32: (from: [Int64: Int64], fixed: Set<Int64>)] = [:]
        for row in try statement(
            "SELECT rank, attempt, supersedes_from, from_resume_step FROM attempts WHERE run_id = ?"
        ).rows([id]) {
            guard let rank = row[0].integerValue.map({ Int32($0) }), let attempt = row[1].integerValue,
                let step = row[2].integerValue
            else { continue }
            thresholds[rank, default: ([:], [])].from[attempt] = step
            if row[3].integerValue == 1 { thresholds[rank, default: ([:], [])].fixed.insert(attempt) }
        }
        var ranks: [Int32: RankState] = [:]
        for row in try statement("SELECT rank, status, last_step, last_heard FROM ranks WHERE run_id = ?").rows([id]) {
            guard let rank = row[0].integerValue.map({ Int32($0) }) else { continue }
            ranks[rank] = RankState(
                rank: rank,
                status: RankStatus(rawValue: row[1].textValue ?? "") ?? .active,
                highestStep: row[2].integerValue,
                lastHeard: row[3].realValue ?? 0,
                incarnations: incarnations[rank] ?? [:],
                supersedeFrom: thresholds[rank]?.from ?? [:],
                resumeStepFixed: thresholds[rank]?.fixed ?? []
            )
        }
        return ranks
    }

    private func savedUserSummary(run id: SQLiteValue) throws -> [String: MetricValue] {
        var summary: [String: MetricValue] = [:]
        for row in try statement("SELECT key, value, text FROM user_summary WHERE run_id = ?").rows([id]) {
            guard let key = row[0].textValue else { continue }
            summary[key] = Self.metricValue(row[1], row[2])
        }
        return summary
    }

    private func savedRules(run id: SQLiteValue) throws -> [String: MetricRule] {
        var rules: [String: MetricRule] = [:]
        for row in try statement("SELECT pattern, reduce, goal FROM metric_rules WHERE run_id = ?").rows([id]) {
            guard let pattern = row[0].textValue, let reduce = ReduceOperation(rawValue: row[1].textValue ?? "")
            else { continue }
            rules[pattern] = MetricRule(reduce: reduce, goal: row[2].textValue.flatMap(SummaryGoal.init(rawValue:)))
        }
        return rules
    }

    /// The runs that were not finished when their status was last committed, to carry on.
    public func unfinishedRuns() throws -> [String] {
        try statement("SELECT name FROM runs WHERE finished = 0 AND updated_at IS NOT NULL ORDER BY name").rows()
            .compactMap { $0[0].textValue }
    }

    /// The highest complete step of the run, or -1.
    public func highestCompleteStep(run: String) throws -> Int64 {
        let id = SQLiteValue.integer(try runID(run))
        return try statement("SELECT max(step) FROM steps WHERE run_id = ?").rows([id]).first?[0].integerValue ?? -1
    }

    /// The steps with rows above the highest complete one, with their rows and cells.
    public func openSteps(run: String) throws -> [StepState] {
        let id = SQLiteValue.integer(try runID(run))
        let highest = try highestCompleteStep(run: run)
        let steps = try statement("SELECT DISTINCT step FROM rows WHERE run_id = ? AND step > ? ORDER BY step")
            .rows([id, .integer(highest)])
            .compactMap { $0[0].integerValue }
        return try steps.map { try step($0, run: id, completion: nil) }
    }

    /// Every value in the history at a complete step.
    public func completeValues(run: String) throws -> [(key: Int32, value: MetricValue)] {
        let id = SQLiteValue.integer(try runID(run))
        return try statement(
            """
            SELECT cells.key_id, cells.value, cells.text FROM cells
            JOIN rows USING (run_id, step, rank)
            JOIN steps USING (run_id, step)
            WHERE cells.run_id = ? AND cells.superseded = 0 AND rows.superseded = 0
            """
        ).rows([id]).map { row in (Int32(row[0].integerValue ?? 0), Self.metricValue(row[1], row[2])) }
    }
}

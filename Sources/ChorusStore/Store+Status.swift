import ChorusCore

extension Store {
    /// Writes where a run stands: its counters, ranks, incarnations, key definitions and
    /// summaries, so that `chorus status` and `chorus show` read them from the file.
    public func writeStatus(_ merger: RunStatus, now: Double) throws {
        let id = SQLiteValue.integer(try runID(merger.run))
        let statistics = merger.statistics
        try statement(
            """
            UPDATE runs SET world_size = ?, start_time = ?, finished = ?, received = ?, duplicates = ?, late = ?,
                rejected = ?, rows = ?, open_steps = ?, max_open_steps_seen = ?, updated_at = ?
            WHERE run_id = ?
            """
        ).run([
            merger.worldSize.map { .integer(Int64($0)) } ?? .null, merger.startTime.map(SQLiteValue.real) ?? .null,
            .integer(merger.isFinished ? 1 : 0), .integer(statistics.received), .integer(statistics.duplicates),
            .integer(statistics.late), .integer(statistics.rejected), .integer(statistics.rows),
            .integer(Int64(merger.openStepCount)), .integer(Int64(statistics.maxOpenStepsSeen)), .real(now), id,
        ])
        for (rank, state) in merger.ranks {
            try statement(
                "INSERT OR REPLACE INTO ranks (run_id, rank, status, last_step, last_heard) VALUES (?, ?, ?, ?, ?)"
            )
            .run([
                id, .integer(Int64(rank)), .text(state.status.rawValue),
                state.highestStep.map(SQLiteValue.integer) ?? .null, .real(state.lastHeard),
            ])
            for incarnation in state.incarnations.values {
                let gaps = Self.rangeList(incarnation.sequence.missingRanges(limit: 20))
                try statement(
                    """
                    INSERT OR REPLACE INTO incarnations (run_id, incarnation, rank, attempt, start_time, resume_step,
                        ended, received, last_seq, missing, gaps, greeted, received_seqs, durable_seq, duplicates,
                        late, skipped)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """
                ).run([
                    id, .text(incarnation.id), .integer(Int64(rank)), .integer(incarnation.attempt),
                    .real(incarnation.startTime), incarnation.resumeStep.map(SQLiteValue.integer) ?? .null,
                    .integer(incarnation.ended ? 1 : 0), .integer(incarnation.recordsReceived),
                    .integer(incarnation.sequence.highestKnown), .integer(incarnation.sequence.missingCount),
                    .text(gaps), .integer(incarnation.greeted ? 1 : 0),
                    .text(Self.rangeList(incarnation.sequence.receivedRanges)),
                    .integer(incarnation.sequence.contiguousThrough), .integer(incarnation.duplicates),
                    .integer(incarnation.late), .integer(incarnation.skipped),
                ])
            }
            for (attempt, step) in state.supersedeFrom {
                try statement(
                    """
                    INSERT OR REPLACE INTO attempts (run_id, rank, attempt, supersedes_from, from_resume_step)
                    VALUES (?, ?, ?, ?, ?)
                    """
                ).run([
                    id, .integer(Int64(rank)), .integer(attempt), .integer(step),
                    .integer(state.resumeStepFixed.contains(attempt) ? 1 : 0),
                ])
            }
        }
        for (pattern, rule) in merger.definitions {
            try statement("INSERT OR REPLACE INTO metric_rules (run_id, pattern, reduce, goal) VALUES (?, ?, ?, ?)")
                .run([id, .text(pattern), .text(rule.reduce.rawValue), rule.goal.map { .text($0.rawValue) } ?? .null])
        }
        for key in merger.keys {
            guard
                let keyID = try statement("SELECT key_id FROM keys WHERE run_id = ? AND name = ?")
                    .rows([id, .text(key.name)]).first?.first
            else { continue }
            try statement("UPDATE keys SET reduce = ?, goal = ? WHERE run_id = ? AND key_id = ?").run([
                .text(key.reduce.rawValue), key.goal.map { .text($0.rawValue) } ?? .null, id, keyID,
            ])
            let summary = key.summary
            guard !summary.isEmpty else {
                try statement("DELETE FROM summaries WHERE run_id = ? AND key_id = ?").run([id, keyID])
                continue
            }
            try statement(
                """
                INSERT OR REPLACE INTO summaries (run_id, key_id, first, first_step, last, last_step, min, min_step,
                    max, max_step, best, mean, count, nonfinite, text)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """
            ).run(
                [id, keyID] + Self.columns(of: summary.first) + Self.columns(of: summary.last)
                    + Self.columns(of: summary.min) + Self.columns(of: summary.max) + [
                        summary.best(key.goal).map { .real($0.value) } ?? .null,
                        summary.mean.map(SQLiteValue.real) ?? .null, .integer(summary.count),
                        .integer(summary.nonfinite), summary.latestText.map { .text($0.text) } ?? .null,
                    ]
            )
        }
        for (key, value) in merger.userSummary {
            let (valueColumn, textColumn) = Self.columns(of: value)
            try statement("INSERT OR REPLACE INTO user_summary (run_id, key, value, text) VALUES (?, ?, ?, ?)")
                .run([id, .text(key), valueColumn, textColumn])
        }
    }

    /// Adds a batch's rejections to the store's tallies.
    public func recordRejections(_ tallies: [RejectionTally]) throws {
        for tally in tallies {
            try statement(
                """
                INSERT INTO rejections (reason, count, last_error, last_sender, last_at) VALUES (?, ?, ?, ?, ?)
                ON CONFLICT (reason) DO UPDATE SET count = count + excluded.count, last_error = excluded.last_error,
                    last_sender = excluded.last_sender, last_at = excluded.last_at
                """
            ).run([
                .text(tally.reason), .integer(tally.count), .text(tally.lastError),
                tally.lastSender.map(SQLiteValue.text) ?? .null, .real(tally.lastAt),
            ])
        }
    }

    /// Sequence number ranges as text: `1-500,502,504-900`.
    static func rangeList(_ ranges: [ClosedRange<Int64>]) -> String {
        ranges.map { $0.lowerBound == $0.upperBound ? "\($0.lowerBound)" : "\($0.lowerBound)-\($0.upperBound)" }
            .joined(separator: ",")
    }

    /// The ranges of a ``rangeList(_:)`` text; what does not parse is left out.
    static func ranges(in list: String) -> [ClosedRange<Int64>] {
        list.split(separator: ",").compactMap { item in
            let bounds = item.split(separator: "-", maxSplits: 1).compactMap { Int64($0) }
            guard let low = bounds.first, let high = bounds.last, low >= 1, low <= high else { return nil }
            return low...high
        }
    }

    private static func columns(of point: SeriesPoint?) -> [SQLiteValue] {
        guard let point else { return [.null, .null] }
        return [.real(point.value), .integer(point.step)]
    }
}

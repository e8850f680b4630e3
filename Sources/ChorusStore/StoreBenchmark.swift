import ChorusCore

/// SQLite's own rate for the rows a collector writes, with nothing of Chorus in the way:
/// the same schema, plain prepared INSERTs, batched transactions. `chorus bench` sets the
/// collector's end-to-end rate beside it.
public enum StoreBenchmark {
    /// What one measurement did.
    public struct Result: Sendable {
        /// Rows inserted, over every table.
        public var rows: Int
        /// Seconds it took, commits included.
        public var seconds: Double
    }

    /// Inserts, into a new store at `path`, the rows a collector writes for `ranks` ranks
    /// logging `keys` values at each of `steps` steps: one history row per rank and step, one
    /// cell per value, one completed step and one reduction per key and step.
    /// - Parameter batchRows: rows per transaction.
    public static func insertCollectorRows(
        path: String,
        ranks: Int,
        keys: Int,
        steps: Int,
        batchRows: Int = 50_000,
        clock: () -> Double
    ) throws -> Result {
        let store = try Store(path: path)
        let connection = store.connection
        let runID = try store.runID("bench")
        for key in 0..<keys {
            try connection.prepare("INSERT INTO keys (run_id, key_id, name) VALUES (?, ?, ?)")
                .run([.integer(runID), .integer(Int64(key)), .text("metric_\(key)")])
        }
        let row = try connection.prepare(
            "INSERT INTO rows (run_id, step, rank, report_attempt, timestamp, superseded) VALUES (?, ?, ?, 0, ?, 0)"
        )
        let cell = try connection.prepare(
            """
            INSERT INTO cells (run_id, step, rank, key_id, value, text, attempt, incarnation, start_time, seq,
                superseded)
            VALUES (?, ?, ?, ?, ?, NULL, 0, ?, 0, ?, 0)
            """
        )
        let completed = try connection.prepare(
            """
            INSERT INTO steps (run_id, step, missing, forced, last_record_at, completed_at)
            VALUES (?, ?, '[]', 0, ?, ?)
            """
        )
        let reduction = try connection.prepare(
            """
            INSERT INTO reductions (run_id, step, key_id, count, nonfinite, sum, mean, min, min_rank, max, max_rank)
            VALUES (?, ?, ?, ?, 0, ?, ?, ?, 0, ?, 0)
            """
        )
        let incarnations = (0..<ranks).map { "bench-incarnation-\($0)" }
        let started = clock()
        var inserted = 0
        var inBatch = 0
        try connection.execute("BEGIN IMMEDIATE")
        func counted(_ rows: Int) throws {
            inserted += rows
            inBatch += rows
            if inBatch >= batchRows {
                try connection.execute("COMMIT")
                try connection.execute("BEGIN IMMEDIATE")
                inBatch = 0
            }
        }
        let run = SQLiteValue.integer(runID)
        for step in 0..<Int64(steps) {
            for rank in 0..<ranks {
                try row.run([run, .integer(step), .integer(Int64(rank)), .real(clock())])
                for key in 0..<keys {
                    try cell.run([
                        run, .integer(step), .integer(Int64(rank)), .integer(Int64(key)),
                        .real(Double(key) + Double(rank) / 8), .text(incarnations[rank]), .integer(step + 1),
                    ])
                }
                try counted(1 + keys)
            }
            try completed.run([run, .integer(step), .real(clock()), .real(clock())])
            for key in 0..<keys {
                let value = SQLiteValue.real(Double(key))
                try reduction.run([
                    run, .integer(step), .integer(Int64(key)), .integer(Int64(ranks)), value, value,
                    value, value,
                ])
            }
            try counted(1 + keys)
        }
        try connection.execute("COMMIT")
        return Result(rows: inserted, seconds: clock() - started)
    }
}

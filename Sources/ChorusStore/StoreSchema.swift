/// The SQLite schema of a Chorus store, version 3. README.md shows how to query it.
///
/// Tables hold ids; the views (`history`, `step_reductions`, `summary`, `rank_last_values`)
/// join the names back in and leave out what a higher attempt superseded, so the views are
/// what a user queries. Numbers are stored as SQLite integers or reals as they were logged;
/// SQLite cannot store NaN, so a NaN is a NULL `value` with `text` = `NaN`, and a value that
/// is not a number is a NULL `value` with its JSON in `text`.
enum StoreSchema {
    static let version = 3

    /// What turns a version 1 store (which lacked what a restarted collector reads back) into
    /// version 2; the tables new in version 2 come from ``statements``.
    static let upgradeFromVersion1 = """
        ALTER TABLE incarnations ADD COLUMN greeted INTEGER NOT NULL DEFAULT 1;
        ALTER TABLE incarnations ADD COLUMN received_seqs TEXT NOT NULL DEFAULT '';
        ALTER TABLE incarnations ADD COLUMN durable_seq INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE incarnations ADD COLUMN duplicates INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE incarnations ADD COLUMN late INTEGER NOT NULL DEFAULT 0;
        UPDATE meta SET value = '2' WHERE name = 'schema_version';
        """

    /// What turns a version 2 store into version 3, which counts the sequence numbers each
    /// incarnation skipped (`protocol.md`, the `skip` message).
    static let upgradeFromVersion2 = """
        ALTER TABLE incarnations ADD COLUMN skipped INTEGER NOT NULL DEFAULT 0;
        UPDATE meta SET value = '3' WHERE name = 'schema_version';
        """

    static let statements = """
        CREATE TABLE IF NOT EXISTS meta (
            name TEXT PRIMARY KEY,
            value TEXT NOT NULL
        );
        CREATE TABLE IF NOT EXISTS runs (
            run_id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            world_size INTEGER,
            start_time REAL,
            finished INTEGER NOT NULL DEFAULT 0,
            received INTEGER NOT NULL DEFAULT 0,
            duplicates INTEGER NOT NULL DEFAULT 0,
            late INTEGER NOT NULL DEFAULT 0,
            rejected INTEGER NOT NULL DEFAULT 0,
            rows INTEGER NOT NULL DEFAULT 0,
            open_steps INTEGER NOT NULL DEFAULT 0,
            max_open_steps_seen INTEGER NOT NULL DEFAULT 0,
            completed_steps INTEGER NOT NULL DEFAULT 0,
            updated_at REAL
        );
        CREATE TABLE IF NOT EXISTS ranks (
            run_id INTEGER NOT NULL REFERENCES runs(run_id),
            rank INTEGER NOT NULL,
            status TEXT NOT NULL,
            last_step INTEGER,
            last_heard REAL,
            PRIMARY KEY (run_id, rank)
        ) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS incarnations (
            run_id INTEGER NOT NULL REFERENCES runs(run_id),
            incarnation TEXT NOT NULL,
            rank INTEGER NOT NULL,
            attempt INTEGER NOT NULL,
            start_time REAL NOT NULL,
            resume_step INTEGER,
            ended INTEGER NOT NULL,
            received INTEGER NOT NULL,
            last_seq INTEGER NOT NULL,
            missing INTEGER NOT NULL,
            gaps TEXT NOT NULL,
            greeted INTEGER NOT NULL DEFAULT 1,
            received_seqs TEXT NOT NULL DEFAULT '',
            durable_seq INTEGER NOT NULL DEFAULT 0,
            duplicates INTEGER NOT NULL DEFAULT 0,
            late INTEGER NOT NULL DEFAULT 0,
            skipped INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (run_id, incarnation)
        ) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS attempts (
            run_id INTEGER NOT NULL REFERENCES runs(run_id),
            rank INTEGER NOT NULL,
            attempt INTEGER NOT NULL,
            supersedes_from INTEGER NOT NULL,
            from_resume_step INTEGER NOT NULL,
            PRIMARY KEY (run_id, rank, attempt)
        ) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS metric_rules (
            run_id INTEGER NOT NULL REFERENCES runs(run_id),
            pattern TEXT NOT NULL,
            reduce TEXT NOT NULL,
            goal TEXT,
            PRIMARY KEY (run_id, pattern)
        ) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS keys (
            run_id INTEGER NOT NULL REFERENCES runs(run_id),
            key_id INTEGER NOT NULL,
            name TEXT NOT NULL,
            reduce TEXT NOT NULL DEFAULT 'mean',
            goal TEXT,
            PRIMARY KEY (run_id, key_id)
        ) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS rows (
            run_id INTEGER NOT NULL,
            step INTEGER NOT NULL,
            rank INTEGER NOT NULL,
            report_attempt INTEGER NOT NULL,
            timestamp REAL NOT NULL,
            superseded INTEGER NOT NULL,
            PRIMARY KEY (run_id, step, rank)
        ) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS cells (
            run_id INTEGER NOT NULL,
            step INTEGER NOT NULL,
            rank INTEGER NOT NULL,
            key_id INTEGER NOT NULL,
            value,
            text TEXT,
            attempt INTEGER NOT NULL,
            incarnation TEXT NOT NULL,
            start_time REAL NOT NULL,
            seq INTEGER NOT NULL,
            superseded INTEGER NOT NULL,
            PRIMARY KEY (run_id, step, rank, key_id)
        ) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS replaced_cells (
            run_id INTEGER NOT NULL,
            step INTEGER NOT NULL,
            rank INTEGER NOT NULL,
            key_id INTEGER NOT NULL,
            value,
            text TEXT,
            attempt INTEGER NOT NULL,
            incarnation TEXT NOT NULL,
            start_time REAL NOT NULL,
            seq INTEGER NOT NULL
        );
        CREATE TABLE IF NOT EXISTS steps (
            run_id INTEGER NOT NULL,
            step INTEGER NOT NULL,
            missing TEXT NOT NULL,
            forced INTEGER NOT NULL,
            last_record_at REAL,
            completed_at REAL,
            PRIMARY KEY (run_id, step)
        ) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS reductions (
            run_id INTEGER NOT NULL,
            step INTEGER NOT NULL,
            key_id INTEGER NOT NULL,
            count INTEGER NOT NULL,
            nonfinite INTEGER NOT NULL,
            sum,
            mean REAL,
            min,
            min_rank INTEGER,
            max,
            max_rank INTEGER,
            PRIMARY KEY (run_id, step, key_id)
        ) WITHOUT ROWID;
        CREATE INDEX IF NOT EXISTS reductions_by_key ON reductions (run_id, key_id, step);
        CREATE TABLE IF NOT EXISTS summaries (
            run_id INTEGER NOT NULL,
            key_id INTEGER NOT NULL,
            first REAL, first_step INTEGER,
            last REAL, last_step INTEGER,
            min REAL, min_step INTEGER,
            max REAL, max_step INTEGER,
            best REAL,
            mean REAL,
            count INTEGER NOT NULL,
            nonfinite INTEGER NOT NULL,
            text TEXT,
            PRIMARY KEY (run_id, key_id)
        ) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS rejections (
            reason TEXT PRIMARY KEY,
            count INTEGER NOT NULL,
            last_error TEXT NOT NULL,
            last_sender TEXT,
            last_at REAL NOT NULL
        );
        CREATE TABLE IF NOT EXISTS user_summary (
            run_id INTEGER NOT NULL,
            key TEXT NOT NULL,
            value,
            text TEXT,
            PRIMARY KEY (run_id, key)
        ) WITHOUT ROWID;

        CREATE VIEW IF NOT EXISTS history AS
            SELECT runs.name AS run, cells.step, cells.rank, keys.name AS key, cells.value, cells.text,
                   rows.timestamp
            FROM cells
            JOIN rows USING (run_id, step, rank)
            JOIN runs USING (run_id)
            JOIN keys USING (run_id, key_id)
            WHERE cells.superseded = 0 AND rows.superseded = 0;
        CREATE VIEW IF NOT EXISTS step_reductions AS
            SELECT runs.name AS run, reductions.step, keys.name AS key, count, nonfinite, sum, mean,
                   min, min_rank, max, max_rank
            FROM reductions
            JOIN runs USING (run_id)
            JOIN keys USING (run_id, key_id);
        CREATE VIEW IF NOT EXISTS summary AS
            SELECT runs.name AS run, keys.name AS key, first, first_step, last, last_step, min, min_step,
                   max, max_step, best, mean, count, nonfinite, text
            FROM summaries
            JOIN runs USING (run_id)
            JOIN keys USING (run_id, key_id);
        CREATE VIEW IF NOT EXISTS rank_last_values AS
            SELECT run, rank, key, value, text, step
            FROM (
                SELECT history.*, row_number() OVER (PARTITION BY run, rank, key ORDER BY step DESC) AS recency
                FROM history
            )
            WHERE recency = 1;
        """
}

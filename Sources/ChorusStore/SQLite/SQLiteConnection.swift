import CSQLite

/// A connection to one SQLite database file, used from one thread at a time.
///
/// The connection is not `Sendable`: create it on the thread or in the actor that owns it.
/// Statements from ``prepare(_:)`` keep their connection alive, so the database is closed
/// only after every statement is finalized.
public final class SQLiteConnection {
    /// How to open the database file.
    public enum Mode: Sendable, Equatable {
        /// Reading and writing; `create` makes the file when it does not exist.
        case readWrite(create: Bool)
        /// Reading only; the file must exist.
        case readOnly
    }

    /// The `sqlite3 *` handle; `nil` once ``close()`` has succeeded.
    private(set) var handle: OpaquePointer?

    /// The path the connection was opened with.
    public let path: String

    /// The version of the SQLite library in use, such as `3.40.1`.
    public static var libraryVersion: String {
        String(cString: sqlite3_libversion())
    }

    /// Opens the database at `path`.
    ///
    /// - Parameters:
    ///   - path: The database file's path. `:memory:` opens a private in-memory database.
    ///   - mode: Whether to write, and whether to create a missing file.
    ///   - busyTimeoutMilliseconds: How long a call waits for a lock held by another
    ///     connection before it fails with `SQLITE_BUSY` (see ``SQLiteError/isBusy``).
    /// - Throws: ``SQLiteError`` from `sqlite3_open_v2`, for example `SQLITE_CANTOPEN` for a
    ///   missing file or directory.
    public init(path: String, mode: Mode = .readWrite(create: true), busyTimeoutMilliseconds: Int32 = 5000)
        throws(SQLiteError)
    {
        // NOMUTEX ("multi-thread" mode): SQLite takes no lock of its own on each call. The
        // connection is not Sendable, so Swift already keeps it on one thread at a time, and
        // a per-call mutex would buy nothing. It also keeps sqlite3_errmsg exact: no other
        // thread can slip a call in between a failure and the reading of its message.
        var flags = SQLITE_OPEN_NOMUTEX
        switch mode {
        case .readWrite(let create):
            flags |= SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0)
        case .readOnly:
            flags |= SQLITE_OPEN_READONLY
        }
        var handle: OpaquePointer?
        let result = sqlite3_open_v2(path, &handle, flags, nil)
        guard result == SQLITE_OK, let handle else {
            // Even a failed open usually allocates a handle, which carries the message and
            // must still be closed.
            let error = SQLiteError(call: "sqlite3_open_v2", connection: handle, code: result)
            sqlite3_close_v2(handle)
            throw error.opening(path)
        }
        self.handle = handle
        self.path = path
        sqlite3_busy_timeout(handle, busyTimeoutMilliseconds)
    }

    deinit {
        // Every statement holds a strong reference to its connection, so none is left
        // unfinalized here and the close cannot fail with SQLITE_BUSY.
        if let handle {
            sqlite3_close_v2(handle)
        }
    }

    /// Closes the database now, rather than when the connection goes away.
    ///
    /// Afterwards every method throws (or traps, for the properties). Closing twice does
    /// nothing.
    ///
    /// - Throws: ``SQLiteError`` with `SQLITE_BUSY` while statements from this connection
    ///   are alive: release them or call ``SQLiteStatement/finalize()`` first. The connection
    ///   then stays open.
    public func close() throws(SQLiteError) {
        guard let handle else {
            return
        }
        guard sqlite3_close(handle) == SQLITE_OK else {
            throw SQLiteError(call: "sqlite3_close", connection: handle)
        }
        self.handle = nil
    }

    /// Runs one or more SQL statements separated by `;`, discarding any rows they return.
    ///
    /// For schema changes, pragmas and transaction control; use ``prepare(_:)`` to bind
    /// values, never string interpolation.
    ///
    /// - Throws: ``SQLiteError`` from `sqlite3_exec`, naming the SQL. Statements before the
    ///   failing one have run.
    public func execute(_ sql: String) throws(SQLiteError) {
        let handle = try openHandle(for: sql)
        var message: UnsafeMutablePointer<CChar>?
        let result = sqlite3_exec(handle, sql, nil, nil, &message)
        defer { sqlite3_free(message) }
        guard result == SQLITE_OK else {
            throw SQLiteError(
                call: "sqlite3_exec",
                code: result & 0xFF,
                extendedCode: sqlite3_extended_errcode(handle),
                message: message.map { String(cString: $0) } ?? String(cString: sqlite3_errstr(result)),
                sql: sql
            )
        }
    }

    /// Compiles one SQL statement, with `?`, `?NNN`, `:name` or `@name` parameters to bind.
    ///
    /// - Throws: ``SQLiteError`` from `sqlite3_prepare_v2`, naming the SQL: a syntax error,
    ///   an unknown table or column, or text holding no statement or more than one.
    public func prepare(_ sql: String) throws(SQLiteError) -> SQLiteStatement {
        let handle = try openHandle(for: sql)
        let (result, statement, extra) = sql.withCString { text in
            var statement: OpaquePointer?
            var tail: UnsafePointer<CChar>?
            let result = sqlite3_prepare_v2(handle, text, -1, &statement, &tail)
            guard result == SQLITE_OK, let statement, let tail, tail.pointee != 0 else {
                return (result, statement, false)
            }
            // What follows the first statement may hold only whitespace and comments, which
            // compile to no statement at all.
            var next: OpaquePointer?
            let nextResult = sqlite3_prepare_v2(handle, tail, -1, &next, nil)
            sqlite3_finalize(next)
            return (result, Optional(statement), nextResult != SQLITE_OK || next != nil)
        }
        guard result == SQLITE_OK else {
            throw SQLiteError(call: "sqlite3_prepare_v2", connection: handle, sql: sql)
        }
        guard let statement else {
            throw SQLiteError.misuse("no statement in the text", call: "sqlite3_prepare_v2", sql: sql)
        }
        guard !extra else {
            sqlite3_finalize(statement)
            let message = "more than one statement; use execute(_:) for several"
            throw SQLiteError.misuse(message, call: "sqlite3_prepare_v2", sql: sql)
        }
        return SQLiteStatement(handle: statement, connection: self, sql: sql)
    }

    /// Runs `body` in a write transaction: committed when `body` returns, rolled back when
    /// it throws.
    ///
    /// `BEGIN IMMEDIATE` takes the write lock up front (waiting up to the busy timeout), so
    /// the transaction cannot fail half-way for lack of it. Transactions do not nest.
    ///
    /// - Returns: What `body` returned.
    /// - Throws: What `body` threw, after rolling back; or ``SQLiteError`` from `BEGIN` or
    ///   `COMMIT` (a failed commit is rolled back too).
    public func transaction<R>(_ body: () throws -> R) throws -> R {
        try execute("BEGIN IMMEDIATE")
        do {
            let result = try body()
            try execute("COMMIT")
            return result
        } catch {
            // Some errors (SQLITE_FULL, SQLITE_IOERR, ...) end the transaction by themselves.
            if let handle, sqlite3_get_autocommit(handle) == 0 {
                // A rollback failure would hide the error that caused it; the original is
                // the one worth reporting.
                try? execute("ROLLBACK")
            }
            throw error
        }
    }

    /// Whether a transaction is open (SQLite is not in autocommit mode).
    public var isInTransaction: Bool {
        sqlite3_get_autocommit(openHandle) == 0
    }

    /// The rowid of the row most recently inserted on this connection, or 0 if none.
    public var lastInsertRowID: Int64 {
        sqlite3_last_insert_rowid(openHandle)
    }

    /// How many rows the most recent `INSERT`, `UPDATE` or `DELETE` on this connection changed.
    public var changes: Int {
        Int(sqlite3_changes64(openHandle))
    }

    /// The handle, which must still be open; for non-throwing accessors.
    private var openHandle: OpaquePointer {
        guard let handle else {
            preconditionFailure("SQLiteConnection to \(path) used after close()")
        }
        return handle
    }

    /// The handle, or an error naming `sql` when the connection is closed.
    func openHandle(for sql: String?) throws(SQLiteError) -> OpaquePointer {
        guard let handle else {
            throw SQLiteError.misuse("the connection is closed", call: "SQLiteConnection", sql: sql)
        }
        return handle
    }
}

extension SQLiteError {
    /// The same error with the database path added to the message.
    fileprivate func opening(_ path: String) -> SQLiteError {
        SQLiteError(call: call, code: code, extendedCode: extendedCode, message: "\(message): \(path)", sql: sql)
    }
}

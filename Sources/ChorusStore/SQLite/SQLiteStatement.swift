import CSQLite

/// A compiled SQL statement: bind values, step through rows, read columns, reset, repeat.
///
/// Parameters are numbered from 1 and columns from 0, as in SQLite. A statement keeps its
/// ``connection`` alive and is finalized when it goes away (or by ``finalize()``). Like
/// its connection it is not `Sendable`.
///
/// The usual cycle is ``reset()``, the `bind` calls, then ``step()`` until it returns
/// `false`; ``run(_:)`` and ``rows(_:)`` do all of that.
public final class SQLiteStatement {
    /// The `sqlite3_stmt *` handle; `nil` after ``finalize()``.
    private var handle: OpaquePointer?

    /// Whether the last ``step()`` produced a row that the column readers may read.
    private var hasRow = false

    /// The connection the statement belongs to.
    public let connection: SQLiteConnection

    /// The SQL the statement was prepared from.
    public let sql: String

    /// Wraps a freshly prepared statement; see ``SQLiteConnection/prepare(_:)``.
    init(handle: OpaquePointer, connection: SQLiteConnection, sql: String) {
        self.handle = handle
        self.connection = connection
        self.sql = sql
    }

    deinit {
        sqlite3_finalize(handle)
    }

    /// Releases the compiled statement now, so that the connection can be closed while this
    /// object still exists. Any later use throws or traps; finalizing again does nothing.
    public func finalize() {
        sqlite3_finalize(handle)
        handle = nil
        hasRow = false
    }

    /// How many parameters the SQL has (the largest parameter index).
    public var parameterCount: Int32 {
        sqlite3_bind_parameter_count(liveHandle)
    }

    /// How many columns each row has; 0 for a statement that returns no rows.
    public var columnCount: Int32 {
        sqlite3_column_count(liveHandle)
    }

    /// The name of column `index`: its `AS` alias, else a name SQLite picks.
    public func columnName(at index: Int32) -> String {
        precondition(index >= 0 && index < columnCount, "column \(index) out of range in \(sql)")
        return sqlite3_column_name(liveHandle, index).map { String(cString: $0) } ?? ""
    }

    // MARK: Binding

    /// Binds an integer to parameter `index` (from 1).
    ///
    /// - Throws: ``SQLiteError`` with `SQLITE_RANGE` for an index the SQL does not have, or
    ///   `SQLITE_MISUSE` while the statement is running (call ``reset()`` first).
    public func bind(_ value: Int64, at index: Int32) throws(SQLiteError) {
        let handle = try openHandle()
        try check(sqlite3_bind_int64(handle, index, value), "sqlite3_bind_int64")
    }

    /// Binds an integer to parameter `index` (from 1).
    ///
    /// - Throws: ``SQLiteError``, as for ``bind(_:at:)-(Int64,_)``.
    public func bind(_ value: Int, at index: Int32) throws(SQLiteError) {
        try bind(Int64(value), at: index)
    }

    /// Binds a double to parameter `index` (from 1).
    ///
    /// SQLite stores NaN as `NULL`: a NaN bound here reads back as `NULL`. Infinities are
    /// stored as they are.
    ///
    /// - Throws: ``SQLiteError``, as for ``bind(_:at:)-(Int64,_)``.
    public func bind(_ value: Double, at index: Int32) throws(SQLiteError) {
        let handle = try openHandle()
        try check(sqlite3_bind_double(handle, index, value), "sqlite3_bind_double")
    }

    /// Binds text to parameter `index` (from 1); SQLite copies it.
    ///
    /// All of the string's UTF-8 is bound, NUL characters included.
    ///
    /// - Throws: ``SQLiteError``, as for ``bind(_:at:)-(Int64,_)``, or `SQLITE_TOOBIG`.
    public func bind(_ value: String, at index: Int32) throws(SQLiteError) {
        let handle = try openHandle()
        // An empty string's buffer may have no address, and text bound from a NULL pointer
        // would be stored as NULL rather than ''.
        let copy = chorus_sqlite_transient()
        let utf8 = UInt8(SQLITE_UTF8)
        guard !value.isEmpty else {
            try check(sqlite3_bind_text64(handle, index, "", 0, copy, utf8), "sqlite3_bind_text64")
            return
        }
        var value = value
        let result = value.withUTF8 { bytes in
            bytes.withMemoryRebound(to: CChar.self) { text in
                sqlite3_bind_text64(handle, index, text.baseAddress, UInt64(text.count), copy, utf8)
            }
        }
        try check(result, "sqlite3_bind_text64")
    }

    /// Binds bytes as a blob to parameter `index` (from 1); SQLite copies them.
    ///
    /// - Throws: ``SQLiteError``, as for ``bind(_:at:)-(Int64,_)``, or `SQLITE_TOOBIG`.
    public func bind(_ bytes: UnsafeRawBufferPointer, at index: Int32) throws(SQLiteError) {
        let handle = try openHandle()
        // A blob bound from a NULL pointer would be stored as NULL, so an empty one is bound
        // as a zero-length blob instead.
        guard let start = bytes.baseAddress, !bytes.isEmpty else {
            try check(sqlite3_bind_zeroblob(handle, index, 0), "sqlite3_bind_zeroblob")
            return
        }
        let result = sqlite3_bind_blob64(handle, index, start, UInt64(bytes.count), chorus_sqlite_transient())
        try check(result, "sqlite3_bind_blob64")
    }

    /// Binds bytes as a blob to parameter `index` (from 1); SQLite copies them.
    ///
    /// - Throws: ``SQLiteError``, as for ``bind(_:at:)-(Int64,_)``, or `SQLITE_TOOBIG`.
    public func bind(_ bytes: [UInt8], at index: Int32) throws(SQLiteError) {
        let bound = bytes.withUnsafeBytes { buffer in
            Result { () throws(SQLiteError) in try bind(buffer, at: index) }
        }
        try bound.get()
    }

    /// Binds `NULL` to parameter `index` (from 1).
    ///
    /// - Throws: ``SQLiteError``, as for ``bind(_:at:)-(Int64,_)``.
    public func bindNull(at index: Int32) throws(SQLiteError) {
        let handle = try openHandle()
        try check(sqlite3_bind_null(handle, index), "sqlite3_bind_null")
    }

    /// Binds any value to parameter `index` (from 1).
    ///
    /// - Throws: ``SQLiteError``, as for ``bind(_:at:)-(Int64,_)``.
    public func bind(_ value: SQLiteValue, at index: Int32) throws(SQLiteError) {
        switch value {
        case .null: try bindNull(at: index)
        case .integer(let integer): try bind(integer, at: index)
        case .real(let real): try bind(real, at: index)
        case .text(let text): try bind(text, at: index)
        case .blob(let bytes): try bind(bytes, at: index)
        }
    }

    /// Binds `values` to the parameters 1, 2, 3 … in order.
    ///
    /// - Throws: ``SQLiteError`` with `SQLITE_RANGE` unless there is exactly one value per
    ///   parameter, or as for ``bind(_:at:)-(Int64,_)``.
    public func bind(_ values: [SQLiteValue]) throws(SQLiteError) {
        let expected = parameterCount
        guard values.count == expected else {
            let message = "\(values.count) values for \(expected) parameters"
            throw SQLiteError(call: "SQLiteStatement.bind", code: SQLITE_RANGE, message: message, sql: sql)
        }
        for (offset, value) in values.enumerated() {
            try bind(value, at: Int32(offset + 1))
        }
    }

    /// Binds `values` to the parameters 1, 2, 3 … in order; see ``bind(_:)-([SQLiteValue])``.
    ///
    /// - Throws: ``SQLiteError`` unless there is exactly one value per parameter.
    public func bind(_ values: SQLiteValue...) throws(SQLiteError) {
        try bind(values)
    }

    /// Sets every parameter back to `NULL`.
    public func clearBindings() {
        sqlite3_clear_bindings(liveHandle)
    }

    // MARK: Running

    /// Runs the statement until its next row or its end.
    ///
    /// - Returns: `true` when a row is ready for the column readers; `false` when the
    ///   statement has finished. Stepping again after `false` starts it over.
    /// - Throws: ``SQLiteError`` from `sqlite3_step`: `SQLITE_BUSY` when another connection
    ///   held a lock for longer than the busy timeout, `SQLITE_CONSTRAINT` for a violated
    ///   constraint, and so on.
    public func step() throws(SQLiteError) -> Bool {
        let handle = try openHandle()
        switch sqlite3_step(handle) {
        case SQLITE_ROW:
            hasRow = true
            return true
        case SQLITE_DONE:
            hasRow = false
            return false
        default:
            hasRow = false
            throw SQLiteError(call: "sqlite3_step", connection: sqlite3_db_handle(handle), sql: sql)
        }
    }

    /// Rewinds the statement so it can run again, keeping its bindings.
    ///
    /// Also ends a query left part-way, which otherwise keeps its read snapshot (and, in WAL
    /// mode, holds back checkpoints). SQLite's result from `sqlite3_reset` repeats the last
    /// step's error, already thrown by ``step()``, so it is not reported again.
    public func reset() {
        sqlite3_reset(liveHandle)
        hasRow = false
    }

    /// Binds `values` (when given), runs the statement to its end, and resets it.
    ///
    /// For `INSERT`, `UPDATE`, `DELETE` and the like; rows a statement returns are skipped.
    ///
    /// - Parameter values: One value per parameter, or `nil` to keep the current bindings.
    /// - Throws: ``SQLiteError`` from binding or stepping; the statement is reset either way.
    public func run(_ values: [SQLiteValue]? = nil) throws(SQLiteError) {
        reset()
        defer { reset() }
        if let values {
            try bind(values)
        }
        while try step() {}
    }

    /// Binds `values` (when given), runs the statement to its end, and returns every row.
    ///
    /// Meant for small results: all rows are held in memory.
    ///
    /// - Parameter values: One value per parameter, or `nil` to keep the current bindings.
    /// - Returns: The rows, each with ``columnCount`` values.
    /// - Throws: ``SQLiteError`` from binding or stepping; the statement is reset either way.
    public func rows(_ values: [SQLiteValue]? = nil) throws(SQLiteError) -> [[SQLiteValue]] {
        reset()
        defer { reset() }
        if let values {
            try bind(values)
        }
        var rows: [[SQLiteValue]] = []
        while try step() {
            rows.append((0..<columnCount).map { value(at: $0) })
        }
        return rows
    }

    // MARK: Reading the current row

    /// Whether column `index` (from 0) of the current row is `NULL`.
    public func isNull(at index: Int32) -> Bool {
        sqlite3_column_type(rowHandle(index), index) == SQLITE_NULL
    }

    /// Column `index` (from 0) of the current row as an integer.
    ///
    /// `NULL` reads as 0; other types convert by SQLite's rules (a real is truncated, text
    /// is parsed). Use ``value(at:)`` to see what is stored.
    public func int64(at index: Int32) -> Int64 {
        sqlite3_column_int64(rowHandle(index), index)
    }

    /// Column `index` (from 0) of the current row as a double.
    ///
    /// `NULL` reads as 0.0 (a NaN stored earlier is `NULL`); other types convert by SQLite's rules.
    public func double(at index: Int32) -> Double {
        sqlite3_column_double(rowHandle(index), index)
    }

    /// Column `index` (from 0) of the current row as text, or `nil` for `NULL`.
    ///
    /// All of the stored bytes are read, NUL characters included; invalid UTF-8 is repaired
    /// with U+FFFD. Numbers and blobs convert by SQLite's rules.
    public func text(at index: Int32) -> String? {
        let handle = rowHandle(index)
        guard sqlite3_column_type(handle, index) != SQLITE_NULL else {
            return nil
        }
        // Read the pointer before the length: the conversion to text may change the length.
        guard let start = sqlite3_column_text(handle, index) else {
            return ""
        }
        let bytes = UnsafeBufferPointer(start: start, count: Int(sqlite3_column_bytes(handle, index)))
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Column `index` (from 0) of the current row as bytes, or `nil` for `NULL`.
    public func blob(at index: Int32) -> [UInt8]? {
        let handle = rowHandle(index)
        guard sqlite3_column_type(handle, index) != SQLITE_NULL else {
            return nil
        }
        // Read the pointer before the length, as for text; an empty blob has no pointer.
        guard let start = sqlite3_column_blob(handle, index) else {
            return []
        }
        return Array(UnsafeRawBufferPointer(start: start, count: Int(sqlite3_column_bytes(handle, index))))
    }

    /// Column `index` (from 0) of the current row, in the storage class it has.
    public func value(at index: Int32) -> SQLiteValue {
        let handle = rowHandle(index)
        switch sqlite3_column_type(handle, index) {
        case SQLITE_INTEGER: return .integer(sqlite3_column_int64(handle, index))
        case SQLITE_FLOAT: return .real(sqlite3_column_double(handle, index))
        case SQLITE_TEXT: return .text(text(at: index) ?? "")
        case SQLITE_BLOB: return .blob(blob(at: index) ?? [])
        default: return .null
        }
    }

    // MARK: Checks

    /// The handle, or an error when the statement has been finalized.
    private func openHandle() throws(SQLiteError) -> OpaquePointer {
        guard let handle else {
            throw SQLiteError.misuse("the statement is finalized", call: "SQLiteStatement", sql: sql)
        }
        return handle
    }

    /// The handle, which must not be finalized; for the non-throwing members.
    private var liveHandle: OpaquePointer {
        guard let handle else {
            preconditionFailure("SQLiteStatement used after finalize(): \(sql)")
        }
        return handle
    }

    /// The handle, checking that a row is ready and that it has column `index`.
    ///
    /// Reading without a row or past the last column is undefined in SQLite: a programming
    /// error, so it traps.
    private func rowHandle(_ index: Int32) -> OpaquePointer {
        let handle = liveHandle
        precondition(hasRow, "no row to read: step() did not return true; \(sql)")
        precondition(index >= 0 && index < sqlite3_column_count(handle), "column \(index) out of range in \(sql)")
        return handle
    }

    /// Throws unless a bind call returned `SQLITE_OK`.
    private func check(_ result: Int32, _ call: String) throws(SQLiteError) {
        guard result == SQLITE_OK else {
            throw SQLiteError(call: call, connection: sqlite3_db_handle(handle), sql: sql)
        }
    }
}

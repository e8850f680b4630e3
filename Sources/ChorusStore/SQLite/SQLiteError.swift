import CSQLite

/// An SQLite call that failed: which call, SQLite's result codes and message, and the SQL.
public struct SQLiteError: Error, CustomStringConvertible, Sendable {
    /// The primary result code, such as `SQLITE_ERROR` (1) or `SQLITE_BUSY` (5).
    public let code: Int32

    /// The extended result code, such as `SQLITE_CONSTRAINT_UNIQUE` (2067); equals ``code``
    /// when SQLite has nothing more specific to say.
    public let extendedCode: Int32

    /// The name of the C function that failed, such as `sqlite3_prepare_v2`, or of the
    /// wrapper's check that refused the call.
    public let call: String

    /// SQLite's message (`sqlite3_errmsg`), or the wrapper's.
    public let message: String

    /// The statement's SQL, with runs of whitespace folded into one space and cut after
    /// ``maximumSQLLength`` characters; `nil` when the call had none.
    public let sql: String?

    /// How many characters of SQL an error keeps.
    public static let maximumSQLLength = 200

    /// Reads the error that the last failed call on `connection` left.
    ///
    /// Only meaningful right after the failure, on the thread that made the call (the
    /// connection is single-owner, so no other call can intervene).
    ///
    /// - Parameters:
    ///   - call: The C function's name.
    ///   - connection: The `sqlite3 *` handle, or `nil` when there is none (then `code`
    ///     must be given).
    ///   - code: The result code the call returned, used when `connection` is `nil`.
    ///   - sql: The SQL involved, if any.
    init(call: String, connection: OpaquePointer?, code: Int32 = SQLITE_ERROR, sql: String? = nil) {
        if let connection {
            let extended = sqlite3_extended_errcode(connection)
            self.init(
                call: call,
                code: extended & 0xFF,
                extendedCode: extended,
                message: String(cString: sqlite3_errmsg(connection)),
                sql: sql
            )
        } else {
            let message = String(cString: sqlite3_errstr(code))
            self.init(call: call, code: code, extendedCode: code, message: message, sql: sql)
        }
    }

    /// Describes a failure with known codes and message.
    init(call: String, code: Int32, extendedCode: Int32? = nil, message: String, sql: String? = nil) {
        self.code = code
        self.extendedCode = extendedCode ?? code
        self.call = call
        self.message = message
        self.sql = sql.map(Self.abbreviate)
    }

    /// A call the wrapper refuses before it reaches SQLite (`SQLITE_MISUSE`).
    static func misuse(_ message: String, call: String, sql: String?) -> SQLiteError {
        SQLiteError(call: call, code: SQLITE_MISUSE, message: message, sql: sql)
    }

    /// The error in one line, such as
    /// `sqlite3_prepare_v2 failed: no such table: foo (code 1) in "SELECT * FROM foo"`.
    public var description: String {
        var text = "\(call) failed: \(message) (code \(code)"
        if extendedCode != code {
            text += ", extended \(extendedCode)"
        }
        text += ")"
        if let sql {
            text += " in \"\(sql)\""
        }
        return text
    }

    /// Whether the database was locked by another connection for longer than the busy
    /// timeout (`SQLITE_BUSY`); the operation may succeed if retried later.
    public var isBusy: Bool {
        code == SQLITE_BUSY
    }

    /// Whether a constraint failed (`SQLITE_CONSTRAINT`): a `UNIQUE`, `NOT NULL`, `CHECK`,
    /// primary or foreign key; ``extendedCode`` tells which.
    public var isConstraintViolation: Bool {
        code == SQLITE_CONSTRAINT
    }

    /// `sql` on one line, cut after ``maximumSQLLength`` characters.
    private static func abbreviate(_ sql: String) -> String {
        let words = sql.split(whereSeparator: { $0.isWhitespace })
        let line = words.joined(separator: " ")
        guard line.count > maximumSQLLength else {
            return line
        }
        return line.prefix(maximumSQLLength) + "…"
    }
}

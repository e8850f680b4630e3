import ChorusStore
import Foundation
import Testing

/// A directory of its own under the system's temporary directory, for database files.
private struct DatabaseDirectory {
    let path: String

    init() throws {
        path = NSTemporaryDirectory() + "chorus-sqlite-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    /// The path of a database file named `name` in the directory.
    func file(_ name: String = "test.sqlite") -> String {
        path + "/" + name
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }
}

/// SQLite's result codes that the tests look for.
private enum ResultCode {
    static let error: Int32 = 1
    static let busy: Int32 = 5
    static let readOnly: Int32 = 8
    static let cantOpen: Int32 = 14
    static let constraint: Int32 = 19
    static let misuse: Int32 = 21
    static let range: Int32 = 25
    static let constraintUnique: Int32 = 2067
}

@Suite struct SQLiteConnectionTests {
    @Test func theLibraryVersionIsThreePointSomething() {
        #expect(SQLiteConnection.libraryVersion.hasPrefix("3."))
    }

    @Test func walModeCanBeTurnedOnForAFile() throws {
        let directory = try DatabaseDirectory()
        defer { directory.remove() }
        let connection = try SQLiteConnection(path: directory.file())

        #expect(try connection.prepare("PRAGMA journal_mode=WAL").rows() == [["wal"]])
        #expect(try connection.prepare("PRAGMA journal_mode").rows() == [["wal"]])
    }

    static let roundTrips: [SQLiteValue] = [
        .null,
        .integer(0), .integer(-1), .integer(Int64.min), .integer(Int64.max),
        .real(0), .real(1), .real(-2.5), .real(0.1), .real(.pi), .real(1e308), .real(-1e-308),
        .real(.infinity), .real(-.infinity), .real(.leastNonzeroMagnitude), .real(.greatestFiniteMagnitude),
        .real(4_503_599_627_370_495.5), .real(-0.0),
        .text(""), .text("plain"), .text("caf\u{E9} \u{65E5}\u{672C} \u{1F680} \u{200D}"),
        .text("nul\u{0}inside"), .text("\u{0}"), .text(String(repeating: "long ", count: 20_000)),
        .blob([]), .blob([0]), .blob([0, 255, 0, 1]), .blob(Array(0...255)),
    ]

    @Test(arguments: roundTrips)
    func aValueRoundTripsExactly(value: SQLiteValue) throws {
        let connection = try SQLiteConnection(path: ":memory:")
        // No declared type: no affinity, so every value keeps its storage class.
        try connection.execute("CREATE TABLE item (value)")
        try connection.prepare("INSERT INTO item (value) VALUES (?)").run([value])

        let select = try connection.prepare("SELECT value FROM item")
        #expect(try select.rows() == [[value]])
        #expect(try select.step())
        switch value {
        case .null:
            #expect(select.isNull(at: 0))
            #expect(select.text(at: 0) == nil)
            #expect(select.blob(at: 0) == nil)
        case .integer(let integer):
            #expect(select.int64(at: 0) == integer)
        case .real(let real):
            #expect(select.double(at: 0).bitPattern == real.bitPattern)
        case .text(let text):
            #expect(select.text(at: 0) == text)
        case .blob(let bytes):
            #expect(select.blob(at: 0) == bytes)
        }
    }

    @Test func typedBindsRoundTripThroughTheTypedReaders() throws {
        let connection = try SQLiteConnection(path: ":memory:")
        try connection.execute("CREATE TABLE item (i INTEGER, r REAL, t TEXT, b BLOB, n)")
        let insert = try connection.prepare("INSERT INTO item VALUES (?, ?, ?, ?, ?)")
        try insert.bind(Int64.min, at: 1)
        try insert.bind(-.infinity, at: 2)
        try insert.bind("z\u{0}\u{1F680}", at: 3)
        try insert.bind([0, 1, 2] as [UInt8], at: 4)
        try insert.bindNull(at: 5)
        #expect(try insert.step() == false)

        let select = try connection.prepare("SELECT i, r, t, b, n AS missing FROM item")
        #expect(try select.step())
        #expect(select.columnCount == 5)
        #expect(select.columnName(at: 4) == "missing")
        #expect(select.int64(at: 0) == Int64.min)
        #expect(select.double(at: 1) == -.infinity)
        #expect(select.text(at: 2) == "z\u{0}\u{1F680}")
        #expect(select.blob(at: 3) == [0, 1, 2])
        #expect(select.isNull(at: 4))
        #expect(try select.step() == false)
    }

    @Test func nanIsStoredAsNull() throws {
        let connection = try SQLiteConnection(path: ":memory:")
        let select = try connection.prepare("SELECT ?")

        #expect(try select.rows([.real(.nan)]) == [[.null]])
    }

    @Test func negativeZeroLosesItsSignInARealColumn() throws {
        // SQLite writes integral reals in REAL columns as integers, so -0.0 comes back as 0.0.
        let connection = try SQLiteConnection(path: ":memory:")
        try connection.execute("CREATE TABLE item (value REAL)")
        try connection.prepare("INSERT INTO item VALUES (?)").run([.real(-0.0)])

        let rows = try connection.prepare("SELECT value FROM item").rows()
        #expect(rows == [[.real(0)]])
        guard case .real(let zero) = rows.first?.first else {
            Issue.record("no real")
            return
        }
        #expect(zero.sign == .plus)
    }

    @Test func sqlFunctionsStopTextAtItsFirstNul() throws {
        let connection = try SQLiteConnection(path: ":memory:")

        #expect(try connection.prepare("SELECT length(?)").rows([.text("ab\u{0}cd")]) == [[.integer(2)]])
    }

    @Test func aPrepareErrorNamesTheCallAndTheSQL() throws {
        let connection = try SQLiteConnection(path: ":memory:")

        let error = try #require(throws: SQLiteError.self) { try connection.prepare("SELECT * FROM foo") }
        #expect(error.call == "sqlite3_prepare_v2")
        #expect(error.code == ResultCode.error)
        #expect(error.sql == "SELECT * FROM foo")
        #expect(error.description == "sqlite3_prepare_v2 failed: no such table: foo (code 1) in \"SELECT * FROM foo\"")
    }

    @Test func anErrorFoldsTheSQLOntoOneLineAndCutsItShort() throws {
        let connection = try SQLiteConnection(path: ":memory:")
        let sql = "SELECT\n    x\nFROM missing WHERE " + String(repeating: "x = 1 AND ", count: 100) + "1"

        let error = try #require(throws: SQLiteError.self) { try connection.prepare(sql) }
        let shown = try #require(error.sql)
        #expect(shown.hasPrefix("SELECT x FROM missing WHERE x = 1"))
        #expect(shown.count == SQLiteError.maximumSQLLength + 1)
        #expect(shown.hasSuffix("…"))
    }

    @Test(arguments: ["", "  -- only a comment", "SELECT 1; SELECT 2", "SELECT 1; nonsense"])
    func prepareRefusesTextWithoutExactlyOneStatement(sql: String) throws {
        let connection = try SQLiteConnection(path: ":memory:")

        let error = try #require(throws: SQLiteError.self) { try connection.prepare(sql) }
        #expect(error.code == ResultCode.misuse)
    }

    @Test func prepareAcceptsATrailingSemicolonAndComment() throws {
        let connection = try SQLiteConnection(path: ":memory:")

        #expect(try connection.prepare("SELECT 1; -- the answer\n").rows() == [[1]])
    }

    @Test func executeRunsSeveralStatementsAndNamesTheSQLOnError() throws {
        let connection = try SQLiteConnection(path: ":memory:")
        try connection.execute("CREATE TABLE a (x); INSERT INTO a VALUES (1); INSERT INTO a VALUES (2);")
        #expect(try connection.prepare("SELECT count(*) FROM a").rows() == [[2]])

        let error = try #require(throws: SQLiteError.self) { try connection.execute("INSERT INTO b VALUES (1)") }
        #expect(error.call == "sqlite3_exec")
        #expect(error.message == "no such table: b")
        #expect(error.sql == "INSERT INTO b VALUES (1)")
    }

    @Test func bindingTheWrongNumberOfValuesThrows() throws {
        let connection = try SQLiteConnection(path: ":memory:")
        let select = try connection.prepare("SELECT ?, ?")

        let error = try #require(throws: SQLiteError.self) { try select.bind(1) }
        #expect(error.code == ResultCode.range)
        #expect(error.message == "1 values for 2 parameters")
        #expect(throws: SQLiteError.self) { try select.bind(7, at: 3) }
        try select.bind(1, "two")
        #expect(try select.rows() == [[1, "two"]])
    }

    @Test func runRebindsAndReusesAStatement() throws {
        let connection = try SQLiteConnection(path: ":memory:")
        try connection.execute("CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT)")
        let insert = try connection.prepare("INSERT INTO item (name) VALUES (?)")

        for name in ["a", "b", "c"] {
            try insert.run([.text(name)])
            #expect(connection.changes == 1)
        }
        #expect(connection.lastInsertRowID == 3)
        let select = try connection.prepare("SELECT id, name FROM item WHERE id >= ? ORDER BY id")
        #expect(try select.rows([2]) == [[2, "b"], [3, "c"]])
        #expect(try select.rows() == [[2, "b"], [3, "c"]])
    }

    @Test func aViolatedConstraintIsReportedWithItsExtendedCode() throws {
        let connection = try SQLiteConnection(path: ":memory:")
        try connection.execute("CREATE TABLE item (name TEXT UNIQUE)")
        let insert = try connection.prepare("INSERT INTO item VALUES (?)")
        try insert.run(["once"])

        let error = try #require(throws: SQLiteError.self) { try insert.run(["once"]) }
        #expect(error.isConstraintViolation)
        #expect(error.code == ResultCode.constraint)
        #expect(error.extendedCode == ResultCode.constraintUnique)
        #expect(error.call == "sqlite3_step")
        #expect(error.description.contains("(code 19, extended 2067)"))
    }

    @Test func aTransactionCommitsWhatItsBodyDid() throws {
        let connection = try SQLiteConnection(path: ":memory:")
        try connection.execute("CREATE TABLE item (x)")

        let result = try connection.transaction {
            #expect(connection.isInTransaction)
            try connection.prepare("INSERT INTO item VALUES (?)").run([1])
            return "done"
        }
        #expect(result == "done")
        #expect(!connection.isInTransaction)
        #expect(try connection.prepare("SELECT x FROM item").rows() == [[1]])
    }

    @Test func aTransactionRollsBackWhenItsBodyThrows() throws {
        struct Abandon: Error {}
        let directory = try DatabaseDirectory()
        defer { directory.remove() }
        let connection = try SQLiteConnection(path: directory.file())
        try connection.execute("CREATE TABLE item (x)")

        #expect(throws: Abandon.self) {
            try connection.transaction {
                try connection.prepare("INSERT INTO item VALUES (?)").run([1])
                throw Abandon()
            }
        }
        #expect(!connection.isInTransaction)
        #expect(try connection.prepare("SELECT count(*) FROM item").rows() == [[0]])
    }

    @Test func aReaderSeesOnlyCommittedDataInWALMode() throws {
        let directory = try DatabaseDirectory()
        defer { directory.remove() }
        let writer = try SQLiteConnection(path: directory.file())
        try writer.execute("PRAGMA journal_mode=WAL; CREATE TABLE item (x)")
        let reader = try SQLiteConnection(path: directory.file(), mode: .readOnly)
        let count = try reader.prepare("SELECT count(*) FROM item")

        try writer.execute("BEGIN IMMEDIATE; INSERT INTO item VALUES (1)")
        #expect(try count.rows() == [[0]])
        try writer.execute("COMMIT")
        #expect(try count.rows() == [[1]])

        try writer.transaction {
            try writer.prepare("INSERT INTO item VALUES (?)").run([2])
        }
        #expect(try count.rows() == [[2]])
    }

    @Test func aSecondWriterFailsAsBusyAfterItsTimeout() throws {
        let directory = try DatabaseDirectory()
        defer { directory.remove() }
        let first = try SQLiteConnection(path: directory.file())
        try first.execute("PRAGMA journal_mode=WAL; CREATE TABLE item (x)")
        let second = try SQLiteConnection(path: directory.file(), busyTimeoutMilliseconds: 50)

        try first.execute("BEGIN IMMEDIATE")
        let start = ContinuousClock.now
        let error = try #require(throws: SQLiteError.self) {
            try second.transaction {}
        }
        #expect(error.isBusy)
        #expect(error.code == ResultCode.busy)
        #expect(ContinuousClock.now - start >= .milliseconds(40))
        try first.execute("COMMIT")
        try second.transaction {}
    }

    @Test func aReadOnlyConnectionCannotWrite() throws {
        let directory = try DatabaseDirectory()
        defer { directory.remove() }
        try SQLiteConnection(path: directory.file()).execute("CREATE TABLE item (x)")
        let reader = try SQLiteConnection(path: directory.file(), mode: .readOnly)

        let error = try #require(throws: SQLiteError.self) { try reader.execute("INSERT INTO item VALUES (1)") }
        #expect(error.code == ResultCode.readOnly)
    }

    @Test func openingAMissingFileWithoutCreateThrowsNamingThePath() throws {
        let directory = try DatabaseDirectory()
        defer { directory.remove() }
        let path = directory.file("missing.sqlite")

        for mode in [SQLiteConnection.Mode.readOnly, .readWrite(create: false)] {
            let error = try #require(throws: SQLiteError.self) { try SQLiteConnection(path: path, mode: mode) }
            #expect(error.code == ResultCode.cantOpen)
            #expect(error.call == "sqlite3_open_v2")
            #expect(error.message.hasSuffix(path))
        }
        #expect(!FileManager.default.fileExists(atPath: path))
    }

    @Test func closeWaitsForStatementsToBeFinalized() throws {
        let connection = try SQLiteConnection(path: ":memory:")
        let statement = try connection.prepare("SELECT 1")

        let error = try #require(throws: SQLiteError.self) { try connection.close() }
        #expect(error.code == ResultCode.busy)
        statement.finalize()
        #expect(throws: SQLiteError.self) { try statement.step() }
        try connection.close()
        try connection.close()
        #expect(throws: SQLiteError.self) { try connection.execute("SELECT 1") }
    }

    @Test func aStatementKeepsItsConnectionOpen() throws {
        let statement = try SQLiteConnection(path: ":memory:").prepare("SELECT 42")

        #expect(try statement.rows() == [[42]])
    }
}

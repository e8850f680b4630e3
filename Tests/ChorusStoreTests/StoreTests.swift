import ChorusCore
import Foundation
import Testing

@testable import ChorusStore

@Suite("The Chorus store on a real SQLite file")
struct StoreTests {
    private func scratch() throws -> String {
        let directory = NSTemporaryDirectory() + "chorus-store-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        return directory
    }

    private func permissions(_ path: String) throws -> Int {
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        return (attributes[.posixPermissions] as? NSNumber)?.intValue ?? -1
    }

    @Test("a new store and its WAL file are readable by their owner and group only")
    func newStorePermissions() throws {
        let directory = try scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = "\(directory)/chorus.sqlite"
        let store = try Store(path: path)
        try store.begin()
        try store.apply(.key(id: 0, name: "loss"), run: "job")
        try store.commit()
        #expect(try permissions(path) == 0o640)
        #expect(try permissions(path + "-wal") == 0o640)
    }

    @Test("a store in a directory that does not exist is refused with a message naming it")
    func missingDirectory() {
        #expect(throws: StoreError.self) { try Store(path: "/nonexistent-chorus-dir/chorus.sqlite") }
    }

    @Test("values come back as they were stored: integers, doubles, NaN, infinities and JSON text")
    func valuesRoundTrip() {
        let values: [MetricValue] = [
            .integer(.max), .integer(.min), .double(0.1), .double(-0.0), .double(.infinity), .double(-.infinity),
            .other("\"NaN\""), .other("{\"_type\":\"histogram\"}"),
        ]
        for value in values {
            let (number, text) = Store.columns(of: value)
            #expect(Store.metricValue(number, text) == value)
        }
        let (number, text) = Store.columns(of: .double(.nan))
        #expect(Store.metricValue(number, text).doubleValue?.isNaN == true)
    }

    @Test("a run's keys keep their ids when the store is opened again")
    func keyIDsSurviveReopening() throws {
        let directory = try scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = "\(directory)/chorus.sqlite"
        do {
            let store = try Store(path: path)
            try store.begin()
            try store.apply(.key(id: 0, name: "loss"), run: "job")
            try store.apply(.key(id: 1, name: "acc"), run: "job")
            try store.commit()
        }
        let reopened = try Store(path: path)
        #expect(try reopened.keyNames(run: "job") == ["loss", "acc"])
        #expect(try reopened.keyNames(run: "other") == [])
    }
}

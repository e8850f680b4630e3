import Testing

@testable import ChorusCore

/// Sequence numbers no record will fill, because the client dropped the record or the
/// collector refused it, are settled: they are no gap, and the durable sequence number,
/// which acknowledgements carry, passes over them.
@Suite("Skipped records: settled sequence numbers")
struct SkippedRecordsTests {
    @Test("settling a range counts only the numbers not accounted for, and joins what it touches")
    func trackerSettles() {
        var tracker = SequenceTracker()
        for number: Int64 in [1, 2, 6, 9] { _ = tracker.insert(number) }
        #expect(tracker.contiguousThrough == 2)
        #expect(tracker.settle(3...7) == 4)
        #expect(tracker.contiguousThrough == 7)
        #expect(tracker.receivedRanges == [1...7, 9...9])
        #expect(tracker.settle(5...8) == 1)
        #expect(tracker.receivedRanges == [1...9])
        #expect(tracker.settle(1...9) == 0)
        #expect(tracker.isComplete)
        #expect(tracker.insert(4) == false, "a record sent after its skip is a duplicate")
        #expect(tracker.settle(Int64.max...Int64.max) == 1)
        #expect(tracker.receivedRanges == [1...9, Int64.max...Int64.max])
    }

    @Test("random records and skips leave the tracker agreeing with a plain set", arguments: [1, 2, 3] as [UInt64])
    func trackerMatchesASet(seed: UInt64) {
        var generator = SeededGenerator(seed: seed)
        var tracker = SequenceTracker()
        var reference = Set<Int64>()
        for _ in 0..<2_000 {
            let first = Int64.random(in: 1...300, using: &generator)
            if Bool.random(using: &generator) {
                #expect(tracker.insert(first) == reference.insert(first).inserted)
            } else {
                let numbers = first...(first + Int64.random(in: 0...6, using: &generator))
                let new = numbers.filter { !reference.contains($0) }.count
                reference.formUnion(numbers)
                #expect(tracker.settle(numbers) == Int64(new))
            }
            let contiguous = (1...400).first { !reference.contains($0) }! - 1
            #expect(tracker.contiguousThrough == contiguous)
            #expect(tracker.receivedCount == Int64(reference.count))
        }
        let ranges = tracker.receivedRanges
        #expect(zip(ranges, ranges.dropFirst()).allSatisfy { $0.upperBound + 1 < $1.lowerBound })
    }

    @Test("a skip decodes with its range and reason, and one that names no range is refused")
    func decoding() throws {
        let sender = Sender(run: "job-42", rank: 0, incarnation: "5f0c1e9a")
        let text = """
            {"v": 1, "kind": "skip", "run": "job-42", "rank": 0, "inc": "5f0c1e9a", "ts": 5.5,
             "first": 17, "last": 19, "reason": "dropped: the queue stayed full"}
            """
        let expected = SkippedRecords(
            sender: sender, sequenceNumbers: 17...19, reason: "dropped: the queue stayed full")
        #expect(try decodeWire(text) == .skip(expected))
        var encoder = WireEncoder()
        #expect(try WireDecoder().decode(encoder.encode(.skip(expected))) == .skip(expected))

        let header = #""v": 1, "kind": "skip", "run": "r", "rank": 0, "inc": "i""#
        let refusals: [(String, WireError.Code, String)] = [
            ("{\(header), \"last\": 3}", .missingField, "\"first\""),
            ("{\(header), \"first\": 3}", .missingField, "\"last\""),
            ("{\(header), \"first\": 0, \"last\": 3}", .invalidField, "\"first\" is 0"),
            ("{\(header), \"first\": 4, \"last\": 3}", .invalidField, "\"last\" is 3; expected 4"),
            ("{\(header), \"first\": 1, \"last\": 1, \"reason\": 7}", .invalidField, "\"reason\""),
        ]
        for (text, code, naming) in refusals {
            let error = wireError(text)
            #expect(error?.code == code, "\(text)")
            #expect(error?.message.contains(naming) == true, "\(error?.message ?? "accepted"), not naming \(naming)")
        }
    }

    @Test("a refused record names its sender and sequence number, so that it can be settled")
    func refusedRecordIsAttributed() {
        let tooLong = String(repeating: "k", count: 300)
        let text = """
            {"v": 1, "kind": "log", "run": "r", "rank": 2, "inc": "i", "seq": 41, "step": 3, "ts": 1,
             "data": {"\(tooLong)": 1}}
            """
        let error = wireError(text)
        #expect(error?.code == .invalidData)
        #expect(error?.sender == Sender(run: "r", rank: 2, incarnation: "i"))
        #expect(error?.sequenceNumber == 41)
        // Only a log record's sequence number is settled; a bad seq is no sequence number.
        #expect(
            wireError(#"{"v": 1, "kind": "log", "run": "r", "rank": 2, "inc": "i", "seq": 0}"#)?.sequenceNumber == nil)
        #expect(
            wireError(#"{"v": 1, "kind": "end", "run": "r", "rank": 2, "inc": "i", "seq": 5}"#)?.sequenceNumber == nil)
        // A record of another version may be one a newer collector takes: its client keeps it.
        #expect(
            wireError(#"{"v": 2, "kind": "log", "run": "r", "rank": 2, "inc": "i", "seq": 5}"#)?.sequenceNumber == nil)
    }

    @Test("skipped and refused records are settled and counted, survive a restart, and are never rows")
    func mergerSettles() throws {
        var rank0 = Worker(rank: 0, worldSize: 1)
        let harness = try MergeHarness()
        try harness.send(rank0.hello(), rank0.log(0, ["loss": 1.0]))
        // Records 2 and 3 were dropped by the client, 4 was refused, 5 arrives.
        try harness.send(
            .skip(SkippedRecords(sender: rank0.sender, sequenceNumbers: 2...3, reason: "dropped")),
            rank0.log(seq: 5, step: 1, ["loss": 2.0])
        )
        var incarnation = try #require(harness.merger.ranks[0]?.incarnations[rank0.incarnation])
        #expect(incarnation.sequence.contiguousThrough == 3)
        #expect(incarnation.sequence.missingRanges() == [4...4])
        try harness.merger.settleRefusedRecord(rank0.sender, sequenceNumber: 4, now: harness.now)
        try harness.send(rank0.end(lastSeq: 5))
        try harness.restart()

        incarnation = try #require(harness.merger.ranks[0]?.incarnations[rank0.incarnation])
        #expect(incarnation.sequence.contiguousThrough == 5)
        #expect(incarnation.sequence.isComplete)
        #expect(incarnation.skipped == 3)
        #expect(harness.merger.statistics.skipped == 3, "the run's count comes back from its incarnations")
        #expect(incarnation.recordsReceived == 2)
        #expect(harness.merger.statistics.received == 2)
        #expect(harness.merger.statistics.rows == 2)
        // A repeated skip changes nothing; a record for a skipped number is a duplicate.
        try harness.send(
            .skip(SkippedRecords(sender: rank0.sender, sequenceNumbers: 2...3)),
            rank0.log(seq: 3, step: 1, ["loss": 9.0])
        )
        incarnation = try #require(harness.merger.ranks[0]?.incarnations[rank0.incarnation])
        #expect(incarnation.skipped == 3)
        #expect(harness.merger.statistics.duplicates == 1)
        #expect(harness.values(step: 1, rank: 0) == ["loss": 2.0])
    }

    @Test("a run's count of skipped numbers stops at Int64.max however many incarnations skip them all")
    func skippedCountSaturates() throws {
        let everything = Worker(rank: 0, incarnation: "all", worldSize: 1)
        let more = Worker(rank: 0, incarnation: "more", worldSize: 1)
        let harness = try MergeHarness()
        try harness.send(
            .skip(SkippedRecords(sender: everything.sender, sequenceNumbers: 1...Int64.max)),
            .skip(SkippedRecords(sender: more.sender, sequenceNumbers: 1...2))
        )
        #expect(harness.merger.statistics.skipped == Int64.max)
        try harness.restart()
        #expect(harness.merger.statistics.skipped == Int64.max)
        let incarnation = try #require(harness.merger.ranks[0]?.incarnations["all"])
        #expect(incarnation.skipped == Int64.max && incarnation.recordsReceived == 0)
    }
}

import Testing

@testable import ChorusCore

@Suite("SequenceTracker: duplicates and gaps in an incarnation's sequence numbers")
struct SequenceTrackerTests {
    private static func tracker(_ numbers: [Int64]) -> SequenceTracker {
        var tracker = SequenceTracker()
        for number in numbers { _ = tracker.insert(number) }
        return tracker
    }

    @Test("numbers in order are all new and leave no gap")
    func inOrder() {
        var tracker = SequenceTracker()
        for number in Int64(1)...1_000 {
            let isNew = tracker.insert(number)
            #expect(isNew)
        }
        #expect(tracker.receivedCount == 1_000)
        #expect(tracker.highestKnown == 1_000)
        #expect(tracker.isComplete)
        #expect(tracker.missingCount == 0)
        #expect(tracker.missingRanges().isEmpty)
    }

    @Test("a number seen before is a duplicate and changes nothing")
    func duplicates() {
        var tracker = Self.tracker([1, 2, 3, 7])
        for number: Int64 in [1, 2, 3, 7, 2] {
            let isNew = tracker.insert(number)
            #expect(!isNew)
        }
        #expect(tracker.receivedCount == 4)
        #expect(tracker.missingRanges() == [4...6])
    }

    @Test("numbers arriving out of order fill the gaps until none is left")
    func outOfOrderFill() {
        var tracker = Self.tracker([5, 3, 1])
        #expect(tracker.missingRanges() == [2...2, 4...4])
        let fourIsNew = tracker.insert(4)
        #expect(fourIsNew)
        #expect(tracker.missingRanges() == [2...2])
        #expect(!tracker.isComplete)
        let twoIsNew = tracker.insert(2)
        #expect(twoIsNew)
        #expect(tracker.isComplete)
        #expect(tracker.receivedCount == 5)
    }

    @Test(
        "gaps come out as ranges, in order",
        arguments: [
            ([1, 2, 3, 7, 8, 12], [4...6, 9...11]),
            ([10], [1...9]),
            ([2, 4, 6], [1...1, 3...3, 5...5]),
            ([6, 5, 4, 1], [2...3]),
            ([], []),
        ] as [([Int64], [ClosedRange<Int64>])]
    )
    func gapRanges(numbers: [Int64], gaps: [ClosedRange<Int64>]) {
        let tracker = Self.tracker(numbers)
        #expect(tracker.missingRanges() == gaps)
        #expect(tracker.missingCount == gaps.reduce(0) { $0 + Int64($1.count) })
    }

    @Test("an announced last number adds a gap at the tail, and a lower one changes nothing")
    func announce() {
        var tracker = Self.tracker([1, 2, 3, 7])
        tracker.announce(upTo: 10)
        #expect(tracker.highestKnown == 10)
        #expect(tracker.missingRanges() == [4...6, 8...10])
        tracker.announce(upTo: 5)
        #expect(tracker.highestKnown == 10)
        #expect(tracker.missingCount == 6)
        for number: Int64 in [4, 5, 6, 8, 9, 10] { _ = tracker.insert(number) }
        #expect(tracker.isComplete)
    }

    @Test("an announcement with nothing received makes the whole span a gap")
    func announceOnly() {
        var tracker = SequenceTracker()
        tracker.announce(upTo: 3)
        #expect(tracker.missingRanges() == [1...3])
        tracker.announce(upTo: 0)
        #expect(tracker.missingRanges() == [1...3])
    }

    @Test("the limit caps the number of ranges reported")
    func limit() {
        let tracker = Self.tracker([2, 4, 6, 8])
        #expect(tracker.missingRanges(limit: 2) == [1...1, 3...3])
        #expect(tracker.missingRanges(limit: 0).isEmpty)
        #expect(tracker.missingCount == 4)
    }

    @Test(
        "a large random permutation with random duplicates keeps the right counts and gaps",
        arguments: [1, 2, 3, 4, 5] as [UInt64]
    )
    func randomPermutation(seed: UInt64) {
        var random = SeededGenerator(seed: seed)
        let highest = Int64(5_000)
        let sent = (Int64(1)...highest).filter { _ in Int.random(in: 0..<10, using: &random) != 0 }
        let repeats = (0..<1_000).map { _ in sent.randomElement(using: &random)! }
        var tracker = SequenceTracker()
        var seen = Set<Int64>()
        for number in (sent + repeats).shuffled(using: &random) {
            let isNew = tracker.insert(number)
            #expect(isNew == seen.insert(number).inserted)
        }
        tracker.announce(upTo: highest)
        #expect(tracker.receivedCount == Int64(seen.count))
        #expect(tracker.missingCount == highest - Int64(seen.count))
        let missing = (Int64(1)...highest).filter { !seen.contains($0) }
        let expanded = tracker.missingRanges(limit: .max).flatMap { Array($0) }
        #expect(expanded == missing)
    }

    @Test("the highest sequence number the decoder accepts, Int64.max, does not trap when gaps are listed")
    func highestNumber() async {
        await #expect(processExitsWith: .success) {
            var tracker = SequenceTracker()
            _ = tracker.insert(.max)
            precondition(tracker.missingRanges() == [1...(.max - 1)])
        }
    }
}

@Suite("SequenceTracker: kept in a store and read back")
struct SequenceTrackerStorageTests {
    @Test("ranges read back join what overlaps or adjoins and keep what is missing")
    func fromRanges() {
        let tracker = SequenceTracker(received: [8...9, 1...3, 4...5, 2...4, 12...12, 0...0], highestKnown: 15)
        #expect(tracker.receivedRanges == [1...5, 8...9, 12...12])
        #expect(tracker.contiguousThrough == 5)
        #expect(tracker.missingRanges() == [6...7, 10...11, 13...15])
        var copy = tracker
        let repeated = copy.insert(9)
        let filled = copy.insert(6)
        #expect(!repeated && filled)
        #expect(copy.contiguousThrough == 6)
    }

    @Test("a tracker that lacks record 1 has nothing durable")
    func nothingDurable() {
        #expect(SequenceTracker(received: [2...10], highestKnown: 10).contiguousThrough == 0)
        #expect(SequenceTracker().contiguousThrough == 0)
    }
}

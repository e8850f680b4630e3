/// The sequence numbers one incarnation's records arrived with: which were seen twice,
/// and which are still missing up to the highest number known. Numbers the sender skipped
/// (``settle(_:)``) count as received: nothing is missing there.
///
/// Numbers are kept as sorted, disjoint ranges, so a stream that arrives in order (the
/// usual case) costs one range however long it runs.
public struct SequenceTracker: Sendable, Hashable {
    private var received: [ClosedRange<Int64>] = []

    /// The highest sequence number known to exist: the highest received, or a higher one a
    /// heartbeat or an end announced.
    public private(set) var highestKnown: Int64 = 0

    /// Creates an empty tracker.
    public init() {}

    /// Recreates a tracker from the ranges a store kept; overlapping or adjoining ranges are
    /// joined, so a damaged list cannot break the tracker's order.
    public init(received ranges: [ClosedRange<Int64>], highestKnown: Int64) {
        for range in ranges.sorted(by: { $0.lowerBound < $1.lowerBound }) where range.lowerBound >= 1 {
            if let last = received.last, range.lowerBound - 1 <= last.upperBound {
                received[received.count - 1] = last.lowerBound...Swift.max(last.upperBound, range.upperBound)
            } else {
                received.append(range)
            }
        }
        self.highestKnown = Swift.max(highestKnown, received.last?.upperBound ?? 0)
    }

    /// The numbers received, as sorted, disjoint ranges that do not touch.
    public var receivedRanges: [ClosedRange<Int64>] { received }

    /// How many separate runs of numbers were received.
    public var rangeCount: Int { received.count }

    /// Whether accounting for `numbers` would start a separate run of numbers, rather than
    /// fall within, extend or join those received.
    public func wouldStartRange(_ numbers: ClosedRange<Int64>) -> Bool {
        let index = firstIndex { $0.upperBound >= numbers.lowerBound - 1 }
        guard index < received.count else { return true }
        return numbers.upperBound < .max && received[index].lowerBound > numbers.upperBound + 1
    }

    /// The highest number up to which every number has been received (0 for none): the
    /// incarnation's records are all in hand up to here.
    public var contiguousThrough: Int64 {
        guard let first = received.first, first.lowerBound == 1 else { return 0 }
        return first.upperBound
    }

    /// Records `number` as received.
    /// - Returns: `false` if it had been received before (a duplicate).
    public mutating func insert(_ number: Int64) -> Bool {
        precondition(number >= 1, "sequence numbers start at 1; the decoder rejects others")
        highestKnown = Swift.max(highestKnown, number)
        // The first range that ends at or after `number - 1`.
        let low = firstIndex { $0.upperBound >= number - 1 }
        if low < received.count && received[low].contains(number) {
            return false
        }
        let joinsBelow = low < received.count && received[low].upperBound == number - 1
        let aboveIndex = joinsBelow ? low + 1 : low
        let joinsAbove = number < .max && aboveIndex < received.count && received[aboveIndex].lowerBound == number + 1
        switch (joinsBelow, joinsAbove) {
        case (true, true):
            received[low] = received[low].lowerBound...received[aboveIndex].upperBound
            received.remove(at: aboveIndex)
        case (true, false):
            received[low] = received[low].lowerBound...number
        case (false, true):
            received[aboveIndex] = number...received[aboveIndex].upperBound
        case (false, false):
            received.insert(number...number, at: low)
        }
        return true
    }

    /// Records every number of `numbers` as accounted for without a record arriving (the
    /// sender skipped them); numbers already received stay as they were.
    /// - Returns: how many numbers were not accounted for before.
    public mutating func settle(_ numbers: ClosedRange<Int64>) -> Int64 {
        precondition(numbers.lowerBound >= 1, "sequence numbers start at 1; the decoder rejects others")
        highestKnown = Swift.max(highestKnown, numbers.upperBound)
        // The ranges `numbers` overlaps or touches are `first ..< end`; they join it.
        let first = firstIndex { $0.upperBound >= numbers.lowerBound - 1 }
        var end = first
        var absorbed: Int64 = 0
        var joined = numbers
        while end < received.count, numbers.upperBound == .max || received[end].lowerBound <= numbers.upperBound + 1 {
            let range = received[end]
            absorbed += range.upperBound - range.lowerBound + 1
            joined = Swift.min(joined.lowerBound, range.lowerBound)...Swift.max(joined.upperBound, range.upperBound)
            end += 1
        }
        received.replaceSubrange(first..<end, with: [joined])
        return joined.upperBound - joined.lowerBound + 1 - absorbed
    }

    /// The index of the first range for which `isAtOrAfter` holds, which must hold for every
    /// range after it too (a binary search).
    private func firstIndex(where isAtOrAfter: (ClosedRange<Int64>) -> Bool) -> Int {
        var low = 0
        var high = received.count
        while low < high {
            let middle = (low + high) / 2
            if isAtOrAfter(received[middle]) {
                high = middle
            } else {
                low = middle + 1
            }
        }
        return low
    }

    /// Notes that numbers up to `number` exist (from a heartbeat or an end).
    public mutating func announce(upTo number: Int64) {
        highestKnown = Swift.max(highestKnown, number)
    }

    /// How many numbers were received.
    public var receivedCount: Int64 {
        received.reduce(0) { $0 + ($1.upperBound - $1.lowerBound + 1) }
    }

    /// Whether every number from 1 to ``highestKnown`` was received.
    public var isComplete: Bool { missingCount == 0 }

    /// How many numbers from 1 to ``highestKnown`` are missing.
    public var missingCount: Int64 { highestKnown - receivedCount }

    /// The missing numbers from 1 to ``highestKnown`` as ranges, at most `limit` of them.
    public func missingRanges(limit: Int = 100) -> [ClosedRange<Int64>] {
        var ranges: [ClosedRange<Int64>] = []
        var next: Int64 = 1
        for range in received where ranges.count < limit {
            if range.lowerBound > next {
                ranges.append(next...(range.lowerBound - 1))
            }
            // Nothing can follow a range that reaches the largest number.
            guard range.upperBound < .max else { return ranges }
            next = range.upperBound + 1
        }
        if next <= highestKnown && ranges.count < limit {
            ranges.append(next...highestKnown)
        }
        return ranges
    }
}

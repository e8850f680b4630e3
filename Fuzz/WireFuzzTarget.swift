// The libFuzzer entry point for the wire decoder and the merger, compiled together with
// ChorusCore's sources into one module by scripts/fuzz (SwiftPM cannot build a target with
// `-sanitize=fuzzer`, whose runtime brings its own `main`).
//
// One input is a sequence of messages separated by the byte 0x1E (ASCII's record separator),
// all merged into one run, so that the fuzzer reaches the merge rules through the decoder
// just as a sender would. Besides crashes, traps and AddressSanitizer's findings, it checks:
// - a decoded message encodes to bytes that decode to a message encoding to the same bytes;
// - a message the merger refuses is refused with a WireError, never anything else, and so is
//   the settling of a record the decoder refused;
// - after completing every step, the rows the merger counts are the rows the store holds.

private let separator: UInt8 = 0x1E

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzWireAndMerge(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = UnsafeBufferPointer(start: data, count: size)
    let decoder = WireDecoder()
    var encoder = WireEncoder()
    let store = InMemoryHistoryStore()
    var configuration = MergeConfiguration()
    configuration.maxOpenSteps = 8
    configuration.completedStepCache = 2
    configuration.maxRanksPerRun = 64
    configuration.maxIncarnationsPerRank = 8
    var mergers: [String: RunMerger] = [:]
    var now = 0.0
    for piece in input.split(separator: separator, omittingEmptySubsequences: true) {
        let bytes = Array(piece)
        let message: WireMessage
        do {
            message = try decoder.decode(bytes)
        } catch {
            // The collector settles a refused record whose sequence number it can read.
            if let sender = error.sender, let sequenceNumber = error.sequenceNumber, let merger = mergers[sender.run] {
                now += 1
                do {
                    try merger.settleRefusedRecord(sender, sequenceNumber: sequenceNumber, now: now)
                } catch is WireError {
                } catch {
                    fatalError("settling a refused record failed with something other than a rejection: \(error)")
                }
            }
            continue
        }
        let encoded = encoder.encode(message)
        guard let again = try? decoder.decode(encoded) else {
            let text = String(decoding: encoded, as: UTF8.self)
            fatalError("a decoded message encodes to bytes that do not decode: \(text)")
        }
        let encodedAgain = encoder.encode(again)
        precondition(encoded == encodedAgain, "encoding is not stable: \(String(decoding: encoded, as: UTF8.self))")

        let run = message.sender.run
        do {
            let merger = try mergers[run] ?? RunMerger(run: run, configuration: configuration, store: store)
            mergers[run] = merger
            now += 1
            try merger.apply(message, now: now)
            if Int(now) % 7 == 0 { try merger.tick(now: now + 100) }
        } catch is WireError {
            continue
        } catch {
            fatalError("the merger failed with something other than a rejection: \(error)")
        }
    }
    for (run, merger) in mergers {
        do {
            try merger.completeAllOpenSteps()
        } catch {
            fatalError("completing the open steps failed: \(error)")
        }
        let stored = store.history(run: run).count
        precondition(
            Int64(stored) == merger.statistics.rows,
            "run \(run): the merger counts \(merger.statistics.rows) rows, the store holds \(stored)"
        )
    }
    return 0
}

import ChorusCore
import ChorusStore

extension Exporter {
    /// Writes the run's step reductions as a TensorBoard event file: for every complete step,
    /// the scalars `KEY/mean`, `KEY/min` and `KEY/max` of each key with a finite value, at
    /// that step, stamped with when the step's last record arrived.
    ///
    /// The file is what TensorFlow's summary writers produce: TFRecord framing (each record's
    /// length and bytes guarded by masked CRC-32C checksums) around `Event` protocol buffers,
    /// the first naming the format version. TensorBoard reads it from any directory it is
    /// pointed at when its name holds `tfevents`, as ``tensorBoardFileName`` does.
    public func exportTensorBoardEvents(to output: ([UInt8]) throws -> Void) throws {
        var file = TensorBoardEventWriter()
        file.appendFileVersion(wallTime: run.startTime ?? 0)
        try reader.forEachStep(run: run.name) { step in
            var scalars: [(tag: String, value: Double)] = []
            for (key, reduction) in step.reductions {
                if let mean = reduction.mean { scalars.append(("\(key)/mean", mean)) }
                if let min = reduction.min?.doubleValue { scalars.append(("\(key)/min", min)) }
                if let max = reduction.max?.doubleValue { scalars.append(("\(key)/max", max)) }
            }
            guard !scalars.isEmpty else { return }
            file.appendScalars(scalars, step: step.step, wallTime: step.lastRecordAt ?? run.startTime ?? 0)
            if file.bytes.count >= 1 << 16 {
                try output(file.bytes)
                file.bytes.removeAll(keepingCapacity: true)
            }
        }
        try output(file.bytes)
    }

    /// A name TensorBoard recognises for the run's event file. The run id is one file name's
    /// worth of `A-Z a-z 0-9 . _ -` by the protocol's rules; anything else a damaged store
    /// might hold becomes `_`, so that the name never leaves the directory it is written in.
    public var tensorBoardFileName: String {
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
        let name = String(run.name.prefix(128).map { allowed.contains($0) ? $0 : "_" })
        return "events.out.tfevents.\(Int64(run.startTime ?? 0)).chorus-\(name)"
    }
}

/// Appends TensorBoard `Event` records in TFRecord framing to a byte buffer.
struct TensorBoardEventWriter {
    var bytes: [UInt8] = []

    /// The first event of a file: its format version.
    mutating func appendFileVersion(wallTime: Double) {
        var event = ProtocolBufferWriter()
        event.appendDouble(field: 1, wallTime)
        event.appendBytes(field: 3, Array("brain.Event:2".utf8))
        appendRecord(event.bytes)
    }

    /// One event holding a summary of scalar values at `step`.
    mutating func appendScalars(_ scalars: [(tag: String, value: Double)], step: Int64, wallTime: Double) {
        var summary = ProtocolBufferWriter()
        for scalar in scalars {
            var value = ProtocolBufferWriter()
            value.appendBytes(field: 1, Array(scalar.tag.utf8))
            value.appendFloat(field: 2, Float(scalar.value))
            summary.appendBytes(field: 1, value.bytes)
        }
        var event = ProtocolBufferWriter()
        event.appendDouble(field: 1, wallTime)
        event.appendVarint(field: 2, UInt64(bitPattern: step))
        event.appendBytes(field: 5, summary.bytes)
        appendRecord(event.bytes)
    }

    /// TFRecord framing: the length (8 bytes, little-endian), its masked CRC-32C, the data,
    /// the data's masked CRC-32C.
    private mutating func appendRecord(_ data: [UInt8]) {
        var length: [UInt8] = []
        appendLittleEndian(UInt64(data.count), to: &length)
        bytes += length
        appendLittleEndian(CRC32C.masked(length), to: &bytes)
        bytes += data
        appendLittleEndian(CRC32C.masked(data), to: &bytes)
    }
}

/// The protocol buffer wire format, as far as TensorBoard's events need it.
struct ProtocolBufferWriter {
    var bytes: [UInt8] = []

    mutating func appendVarint(field: Int, _ value: UInt64) {
        appendRawVarint(UInt64(field << 3 | 0))
        appendRawVarint(value)
    }

    mutating func appendDouble(field: Int, _ value: Double) {
        appendRawVarint(UInt64(field << 3 | 1))
        appendLittleEndian(value.bitPattern, to: &bytes)
    }

    mutating func appendFloat(field: Int, _ value: Float) {
        appendRawVarint(UInt64(field << 3 | 5))
        appendLittleEndian(value.bitPattern, to: &bytes)
    }

    mutating func appendBytes(field: Int, _ value: [UInt8]) {
        appendRawVarint(UInt64(field << 3 | 2))
        appendRawVarint(UInt64(value.count))
        bytes += value
    }

    private mutating func appendRawVarint(_ value: UInt64) {
        var rest = value
        while rest >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: rest) | 0x80)
            rest >>= 7
        }
        bytes.append(UInt8(rest))
    }
}

private func appendLittleEndian<Integer: FixedWidthInteger>(_ value: Integer, to bytes: inout [UInt8]) {
    withUnsafeBytes(of: value.littleEndian) { bytes += $0 }
}

/// CRC-32C (Castagnoli), as TFRecord uses it, with TFRecord's mask.
enum CRC32C {
    private static let table: [UInt32] = (0..<256).map { index in
        var crc = UInt32(index)
        for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0x82F6_3B78 : crc >> 1 }
        return crc
    }

    static func checksum(_ data: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in data { crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
        return crc ^ 0xFFFF_FFFF
    }

    /// The checksum rotated and offset, so that a record holding checksums does not checksum
    /// to something trivial.
    static func masked(_ data: [UInt8]) -> UInt32 {
        let crc = checksum(data)
        return ((crc >> 15) | (crc << 17)) &+ 0xA282_EAD8
    }
}

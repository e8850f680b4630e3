import Testing

@testable import ChorusCollector

@Suite("TensorBoard event files: the framing and encoding TensorBoard checks")
struct TensorBoardEventTests {
    @Test("CRC-32C gives the published check value, and TFRecord's mask rotates and offsets it")
    func checksum() {
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
        #expect(CRC32C.checksum([]) == 0)
        let crc = CRC32C.checksum(Array("123456789".utf8))
        #expect(CRC32C.masked(Array("123456789".utf8)) == ((crc >> 15) | (crc << 17)) &+ 0xA282_EAD8)
    }

    @Test("varints, doubles, floats and nested messages are written as the protocol buffer wire format")
    func protocolBuffers() {
        var writer = ProtocolBufferWriter()
        writer.appendVarint(field: 2, 300)
        writer.appendDouble(field: 1, 1)
        writer.appendFloat(field: 2, 1)
        writer.appendBytes(field: 3, Array("ab".utf8))
        #expect(
            writer.bytes == [
                0x10, 0xAC, 0x02, 0x09, 0, 0, 0, 0, 0, 0, 0xF0, 0x3F, 0x15, 0, 0, 0x80, 0x3F, 0x1A, 2, 0x61, 0x62,
            ]
        )
    }

    @Test("each record is its length, the length's masked checksum, the data and the data's")
    func framing() {
        var file = TensorBoardEventWriter()
        file.appendFileVersion(wallTime: 0)
        let length = Int(file.bytes[0])
        #expect(file.bytes.count == 8 + 4 + length + 4)
        #expect(file.bytes[1..<8].allSatisfy { $0 == 0 })
        let data = Array(file.bytes[12..<(12 + length)])
        let stored = file.bytes[(12 + length)...].enumerated().reduce(UInt32(0)) {
            $0 | UInt32($1.element) << (8 * $1.offset)
        }
        #expect(stored == CRC32C.masked(data))
        #expect(String(decoding: data.suffix(13), as: UTF8.self) == "brain.Event:2")
    }
}

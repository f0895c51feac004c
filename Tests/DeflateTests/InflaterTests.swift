import Deflate
import Testing

/// `Inflater` against zlib streams made by Python's `zlib.compress` (the format HDF5's deflate filter writes).
@Suite("libdeflate inflater")
struct InflaterTests {
    /// `zlib.compress(b"FilterLens " * 8, 1)`: 88 bytes inflated.
    static let stream: [UInt8] = [
        0x78, 0x01, 0x73, 0xcb, 0xcc, 0x29, 0x49, 0x2d, 0xf2, 0x49, 0xcd, 0x2b, 0x56, 0x70, 0xa3, 0x26,
        0x13, 0x00, 0xb8, 0x3b, 0x20, 0xc1,
    ]
    static let text = [UInt8](String(repeating: "FilterLens ", count: 8).utf8)

    func inflate(_ input: [UInt8], outputBytes: Int) throws -> [UInt8] {
        let inflater = try Inflater()
        var output = [UInt8](repeating: 0, count: outputBytes)
        try input.withUnsafeBytes { input in
            try output.withUnsafeMutableBytes { output in try inflater.inflateZlib(input, into: output) }
        }
        return output
    }

    @Test("a zlib stream inflates to its bytes; trailing bytes after the stream are ignored")
    func inflates() throws {
        #expect(try inflate(Self.stream, outputBytes: Self.text.count) == Self.text)
        #expect(try inflate(Self.stream + [0xde, 0xad], outputBytes: Self.text.count) == Self.text)
    }

    @Test("a damaged stream or checksum is an error, never wrong bytes")
    func damaged() {
        var refused = 0
        for index in Self.stream.indices {
            for bit in 0..<8 {
                var bytes = Self.stream
                bytes[index] ^= UInt8(1 << bit)
                do {
                    // Only a bit the format ignores (padding after the last block) may flip unnoticed.
                    let output = try inflate(bytes, outputBytes: Self.text.count)
                    #expect(output == Self.text, "byte \(index) bit \(bit) inflated without error to other bytes")
                } catch let error as DeflateError {
                    #expect([.badData, .shortOutput, .insufficientSpace].contains(error.reason), "byte \(index): \(error)")
                    refused += 1
                } catch {
                    Issue.record("not a DeflateError: \(error)")
                }
            }
        }
        #expect(refused >= Self.stream.count * 8 - 8, "\(refused) of \(Self.stream.count * 8) flips refused")
        #expect(throws: DeflateError(reason: .badData)) { try inflate(Array(Self.stream.prefix(10)), outputBytes: Self.text.count) }
        #expect((try? inflate([], outputBytes: 4)) == nil)
    }

    @Test("the output must be filled exactly: fewer or more bytes are errors naming libdeflate's result")
    func exactSize() {
        #expect(throws: DeflateError(reason: .shortOutput)) { try inflate(Self.stream, outputBytes: Self.text.count + 1) }
        #expect(throws: DeflateError(reason: .insufficientSpace)) { try inflate(Self.stream, outputBytes: Self.text.count - 1) }
        #expect(DeflateError(reason: .badData).description.contains("LIBDEFLATE_BAD_DATA"))
    }
}

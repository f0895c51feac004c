import Foundation
import HDF5
import Testing

extension HDF5Tests {
    @Suite("chunks as stored, and the shuffle filter undone")
    struct ChunkTests {
        /// HDF5's shuffle of `bytes` into planes of `elementSize` (the reference `H5Shuffle.unshuffle` must undo):
        /// plane b holds byte b of every element; the bytes of no whole element follow unchanged.
        static func shuffle(_ bytes: [UInt8], elementSize: Int) -> [UInt8] {
            let n = bytes.count / elementSize
            var out = bytes
            for i in 0..<n { for b in 0..<elementSize { out[b * n + i] = bytes[i * elementSize + b] } }
            return out
        }

        @Test("unshuffle undoes HDF5's shuffle for any element size, element range and leftover bytes",
              arguments: [1, 2, 3, 4, 8])
        func unshuffle(elementSize: Int) {
            var state: UInt32 = 12345
            for byteCount in [0, 1, 4, 7, 64, 1001, 4099] {
                let bytes = (0..<byteCount).map { _ in
                    state = state &* 1_664_525 &+ 1_013_904_223
                    return UInt8(truncatingIfNeeded: state >> 24)
                }
                let shuffled = Self.shuffle(bytes, elementSize: elementSize)
                let n = byteCount / elementSize
                for elements in [0..<n, 0..<(n / 2), (n / 3)..<n, (n / 4)..<(n / 2 + 1)] where elements.upperBound <= n {
                    var out = [UInt8](repeating: 0xEE, count: elements.count * elementSize + 3)
                    shuffled.withUnsafeBytes { source in
                        out.withUnsafeMutableBytes { destination in
                            H5Shuffle.unshuffle(source.baseAddress ?? UnsafeRawPointer(destination.baseAddress!), byteCount: byteCount,
                                                elementSize: elementSize, elements: elements, into: destination.baseAddress!)
                        }
                    }
                    let expected = Array(bytes[(elements.lowerBound * elementSize)..<(elements.upperBound * elementSize)])
                    #expect(Array(out.prefix(expected.count)) == expected, "size \(elementSize), \(byteCount) bytes, \(elements)")
                    #expect(out.suffix(3) == [0xEE, 0xEE, 0xEE], "nothing written past the elements")
                }
            }
        }

        @Test("chunk shape, filter pipeline and stored type as written; a stored chunk is HDF5's shuffle of the values")
        func rawChunks() throws {
            let directory = try TemporaryDirectory()
            let path = directory.path("chunks.h5")
            let values: [Float] = (0..<(5 * 6)).map { Float($0) * 1.5 - 7 }      // 5 x 6, chunks of 2 x 6
            do {
                let file = try H5File.create(path)
                try file.root.write("gzip", values, shape: [5, 6], chunk: [2, 6], compression: 1)
                try file.root.write("plain", values, shape: [5, 6], chunk: [2, 6])
                try file.root.write("contiguous", values, shape: [5, 6])
                try file.root.write("doubles", values.map(Double.init), shape: [5, 6], chunk: [2, 6], compression: 1)
                let empty = try file.root.createDataset("empty", type: .float32, shape: [5, 6], chunk: [2, 6], compression: 1)
                try [Float](repeating: 1, count: 12).withUnsafeBufferPointer { try empty.write($0, start: [0, 0], count: [2, 6]) }
            }
            let root = try H5File.open(path).root
            let gzip = try root.openDataset("gzip")
            #expect(gzip.chunkShape == [2, 6])
            #expect(try gzip.filters() == [H5Filter(id: H5Filter.shuffleID, flags: 1, parameters: [4]),
                                           H5Filter(id: H5Filter.deflateID, flags: 1, parameters: [1])])
            #expect(gzip.storesExactly(Float.self) && !gzip.storesExactly(Double.self))
            #expect(try root.openDataset("plain").filters().isEmpty)
            #expect(try root.openDataset("contiguous").chunkShape == nil)
            #expect(try root.openDataset("contiguous").filters().isEmpty)
            #expect(try !root.openDataset("doubles").storesExactly(Float.self))

            // The plain chunks are the values' bytes; the last one (image 4) is padded to the chunk shape.
            let plain = try root.openDataset("plain")
            var buffer: [UInt8] = []
            for chunk in 0..<3 {
                let raw = try #require(try plain.readRawChunk(at: [2 * chunk, 0], into: &buffer, maxBytes: 1 << 20))
                #expect(raw.byteCount == 48 && raw.applied(filter: 0))
                let rows = min(2, 5 - 2 * chunk)
                let expected = values[(12 * chunk)..<(12 * chunk + 6 * rows)].withUnsafeBytes { Array($0) }
                #expect(Array(buffer.prefix(24 * rows)) == expected, "chunk \(chunk)")
            }
            // A compressed chunk is smaller than its 48 bytes' worth of values and starts with a zlib header.
            let stored = try #require(try gzip.readRawChunk(at: [2, 0], into: &buffer, maxBytes: 1 << 20))
            #expect(stored.filterMask == 0 && stored.byteCount > 2 && buffer[0] == 0x78)
            // A chunk never written reads as nil; an offset off the chunk grid is HDF5's error; a size above the
            // cap is refused.
            let empty = try root.openDataset("empty")
            #expect(try empty.readRawChunk(at: [0, 0], into: &buffer, maxBytes: 1 << 20) != nil)
            #expect(try empty.readRawChunk(at: [2, 0], into: &buffer, maxBytes: 1 << 20) == nil)
            #expect(throws: HDF5Error.self) { try gzip.readRawChunk(at: [1, 0], into: &buffer, maxBytes: 1 << 20) }
            let capped = #expect(throws: HDF5Error.self) { try gzip.readRawChunk(at: [0, 0], into: &buffer, maxBytes: 2) }
            #expect(capped?.description.contains(path + "/gzip") == true)
        }
    }
}

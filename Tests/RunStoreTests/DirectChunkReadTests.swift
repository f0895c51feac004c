import Foundation
import HDF5
import RunStore
import Testing

/// `ActivationsReader`'s direct chunk reads (libdeflate on all cores) against HDF5's own reads of the same files.
@Suite("activations.h5 by direct chunk reads")
struct DirectChunkReadTests {
    /// Images in the test files.
    static let images = 150
    /// Layer 1: 32 x 32 x 32 floats an image (128 KiB), 8 images a chunk: 19 chunks, the last holding 6 images.
    /// Layer 2: 50 x 5 x 7 (an odd 1,750 floats), 149 images a chunk: 2 chunks, the second holding 1 image.
    /// Layer 3: 3 x 1 x 1, all 150 images in one chunk.
    static let shapes = [BlockShape(channels: 32, height: 32, width: 32), BlockShape(channels: 50, height: 5, width: 7),
                         BlockShape(channels: 3, height: 1, width: 1)]

    /// ReLU-like block outputs (about half zeros) with every kind of bit pattern a float can have among them:
    /// negative zero, subnormals, infinities and NaNs with payloads, so that "bit for bit" means it.
    static func values(layer: Int, count: Int) -> [Float] {
        var state = UInt64(0x5EED + layer)
        return (0..<count).map { index in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            let bits = UInt32(truncatingIfNeeded: state >> 32)
            switch bits % 16 {
            case 0..<8: return 0
            case 8: return Float(bitPattern: bits)                    // anything, NaNs and subnormals included
            case 9: return index % 3 == 0 ? -0.0 : .infinity
            default: return Float(bits % 100_000) / 997
            }
        }
    }

    /// Writes activations.h5 in `folder` (batches of 16 images), leaving images `skipped` of every layer unwritten.
    static func writeFile(in folder: URL, skipped: Range<Int> = 0..<0) throws -> (URL, [[Float]]) {
        let url = folder.appendingPathComponent(RunLayout.activationsFile)
        let labels = (0..<images).map { Int32($0 % 10) }
        let writer = try ActivationsWriter(creating: url, labels: labels, shapes: shapes)
        let all = shapes.enumerated().map { values(layer: $0.offset + 1, count: images * $0.element.count) }
        for (index, shape) in shapes.enumerated() {
            for start in stride(from: 0, to: images, by: 16) where !skipped.contains(start) {
                let batch = min(16, images - start)
                try all[index].withUnsafeBufferPointer { values in
                    try writer.write(layer: index + 1, start: start, batch: batch,
                                     values: UnsafeBufferPointer(rebasing: values[(start * shape.count)..<((start + batch) * shape.count)]))
                }
            }
        }
        try writer.commit()
        return (url, all)
    }

    /// Reads images [start, start + batch) of `layer` as bit patterns.
    static func block(_ reader: ActivationsReader, layer: Int, start: Int, batch: Int) throws -> [UInt32] {
        let count = batch * shapes[layer - 1].count
        var buffer = [Float](repeating: 1234.5, count: count)
        try buffer.withUnsafeMutableBufferPointer { try reader.read(layer: layer, start: start, batch: batch, into: $0) }
        return buffer.map(\.bitPattern)
    }

    /// Blocks that start and end inside chunks, on chunk boundaries, inside one chunk, and cover the whole file;
    /// consecutive blocks of 100 (what phase 3 reads) and of 7, single images, and jumps back.
    static let blocks: [(start: Int, batch: Int)] =
        stride(from: 0, to: images, by: 100).map { ($0, min(100, images - $0)) }
        + stride(from: 0, to: images, by: 7).map { ($0, min(7, images - $0)) }
        + [(0, images), (8, 8), (16, 1), (17, 30), (3, 2), (149, 1), (144, 6), (0, 1), (148, 2), (5, 140), (5, 3), (60, 90)]

    @Test("every block reads the bytes written, bit for bit, on both paths; FilterLens's layout reads directly")
    func sameBytes() throws {
        let folder = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let (url, written) = try Self.writeFile(in: folder)
        let direct = try ActivationsReader(url)
        let plain = try ActivationsReader(url, readPath: .plain)
        let serial = try ActivationsReader(url, readThreads: 1)
        for layer in 1...Self.shapes.count {
            #expect(try direct.readsDirectly(layer: layer) && serial.readsDirectly(layer: layer))
            #expect(try !plain.readsDirectly(layer: layer))
            let size = Self.shapes[layer - 1].count
            for (start, batch) in Self.blocks {
                let expected = written[layer - 1][(start * size)..<((start + batch) * size)].map(\.bitPattern)
                let fast = try Self.block(direct, layer: layer, start: start, batch: batch)
                #expect(fast == expected, "layer \(layer), images \(start)..<\(start + batch), direct")
                #expect(try Self.block(serial, layer: layer, start: start, batch: batch) == expected, "one thread")
                #expect(try Self.block(plain, layer: layer, start: start, batch: batch) == expected, "plain")
            }
        }
    }

    @Test("a block with chunks never written reads HDF5's fill value (zeros), as through HDF5")
    func unwrittenChunks() throws {
        let folder = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let (url, written) = try Self.writeFile(in: folder, skipped: 32..<48)
        let direct = try ActivationsReader(url)
        let plain = try ActivationsReader(url, readPath: .plain)
        let size = Self.shapes[0].count
        for (start, batch) in [(24, 40), (0, 100), (100, 50), (32, 16)] {
            let fast = try Self.block(direct, layer: 1, start: start, batch: batch)
            #expect(fast == (try Self.block(plain, layer: 1, start: start, batch: batch)))
            for image in start..<(start + batch) {
                let values = fast[((image - start) * size)..<((image - start + 1) * size)]
                let expected = (32..<48).contains(image) ? [UInt32](repeating: 0, count: size)
                    : written[0][(image * size)..<((image + 1) * size)].map(\.bitPattern)
                #expect(Array(values) == expected, "image \(image)")
            }
        }
    }

    @Test("layouts of other tools are read through HDF5: no filters, contiguous, float64, gzip without shuffle")
    func foreignLayouts() throws {
        let folder = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent(RunLayout.activationsFile)
        let values = (0..<(6 * 2 * 3 * 3)).map { Float($0) * 0.25 }
        do {
            let file = try H5File.create(url.path)
            try file.root.setAttribute("format", RunLayout.activationsFormat)
            try file.root.setAttribute("format_version", RunLayout.version)
            try file.root.write("labels", [Int32](repeating: 0, count: 6), shape: [6])
            try file.root.write("layer01", values, shape: [6, 2, 3, 3])                                   // contiguous
            try file.root.write("layer02", values, shape: [6, 2, 3, 3], chunk: [2, 2, 3, 3])              // no filters
            try file.root.write("layer03", values.map(Double.init), shape: [6, 2, 3, 3], chunk: [2, 2, 3, 3], compression: 1)
            try file.root.write("layer04", values, shape: [6, 2, 3, 3], chunk: [3, 2, 3, 1], compression: 1)  // part images
        }
        let reader = try ActivationsReader(url)
        for layer in 1...4 {
            #expect(try !reader.readsDirectly(layer: layer), "layer \(layer)")
            var buffer = [Float](repeating: 0, count: 3 * 18)
            try buffer.withUnsafeMutableBufferPointer { try reader.read(layer: layer, start: 2, batch: 3, into: $0) }
            #expect(buffer == Array(values[36..<90]), "layer \(layer)")
        }
    }

    /// Flips bytes in the middle of the stored (gzip) bytes of chunk `chunk` of `layer` in the file at `url`.
    static func damageChunk(_ url: URL, layer: Int, chunk: Int, imagesPerChunk: Int) throws {
        var stored: [UInt8] = []
        do {
            let file = try H5File.open(url.path)
            let dataset = try file.root.openDataset(RunLayout.layerName(layer))
            let raw = try #require(try dataset.readRawChunk(at: [chunk * imagesPerChunk, 0, 0, 0], into: &stored, maxBytes: 1 << 24))
            stored = Array(stored.prefix(raw.byteCount))
        }
        var bytes = try Data(contentsOf: url)
        let range = try #require(bytes.range(of: Data(stored)), "the chunk's stored bytes are in the file")
        let middle = range.lowerBound + stored.count / 2
        for offset in 0..<8 { bytes[middle + offset] ^= 0x5A }
        try bytes.write(to: url)
    }

    @Test("a damaged chunk is an error naming the file, the dataset, the images and libdeflate's finding; other blocks still read")
    func damagedChunk() throws {
        let folder = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let (url, written) = try Self.writeFile(in: folder)
        try Self.damageChunk(url, layer: 1, chunk: 2, imagesPerChunk: 8)
        let direct = try ActivationsReader(url)
        let plain = try ActivationsReader(url, readPath: .plain)
        #expect(try direct.readsDirectly(layer: 1))
        for reader in [direct, plain] {
            for (start, batch) in [(0, 100), (20, 1), (10, 30)] {
                let error = #expect(throws: RunStoreError.self) { try Self.block(reader, layer: 1, start: start, batch: batch) }
                #expect(error?.description.contains(url.path + "/layer01") == true, "\(error.map(String.init(describing:)) ?? "")")
                #expect(error?.description.contains("re-run `filterlens train`") == true)
                if reader === direct {
                    #expect(error?.description.contains("chunk of images 16...23: libdeflate: ") == true,
                            "\(error.map(String.init(describing:)) ?? "")")
                }
            }
            // Blocks that do not touch the damaged chunk read as written, before and after a failed block.
            let size = Self.shapes[0].count
            for (start, batch) in [(0, 16), (24, 100), (0, 15)] {
                #expect(try Self.block(reader, layer: 1, start: start, batch: batch)
                        == written[0][(start * size)..<((start + batch) * size)].map(\.bitPattern))
            }
        }
    }
}

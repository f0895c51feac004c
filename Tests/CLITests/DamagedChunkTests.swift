import Foundation
import HDF5
import Testing
import TestSupport

/// `filterlens analyze` on an activations.h5 whose gzip chunk is damaged, read by direct chunk reads (libdeflate).
@Suite("the command line under a damaged chunk of activations.h5")
struct DamagedChunkTests {
    @Test("a damaged gzip chunk ends in exit 1 and one error line naming the file, the dataset and libdeflate's finding")
    func damagedChunk() throws {
        let root = try makeTinyDataset(trainPerFile: 100, test: 100)
        defer { try? FileManager.default.removeItem(at: root) }
        let train = try runFilterLens(["train", "--preset", "tiny", "--data", "data", "--subset", "300", "--test-subset", "100",
                                       "--epochs", "1", "--out", "good"], in: root)
        #expect(train.status == 0, "\(train.errors)")
        #expect(try runFilterLens(["probe", "good", "--probe-epochs", "1"], in: root).status == 0)
        let activations = root.appendingPathComponent("good/activations.h5")

        // The stored bytes of layer 2's first chunk, found in the file and damaged in the middle.
        var stored: [UInt8] = []
        do {
            let dataset = try H5File.open(activations.path).root.openDataset("layer02")
            let raw = try #require(try dataset.readRawChunk(at: [0, 0, 0, 0], into: &stored, maxBytes: 1 << 24))
            stored = Array(stored.prefix(raw.byteCount))
        }
        var bytes = try Data(contentsOf: activations)
        let range = try #require(bytes.range(of: Data(stored)))
        for offset in 0..<4 { bytes[range.lowerBound + stored.count / 2 + offset] ^= 0xA5 }
        let damaged = root.appendingPathComponent("damaged")
        try FileManager.default.createDirectory(at: damaged, withIntermediateDirectories: true)
        for name in ["run.h5", "probe.h5"] {
            try FileManager.default.copyItem(at: root.appendingPathComponent("good/\(name)"), to: damaged.appendingPathComponent(name))
        }
        try bytes.write(to: damaged.appendingPathComponent("activations.h5"))

        let result = try runFilterLens(["analyze", "damaged"], in: root)
        #expect(result.status == 1, "\(result.errors)")
        let errorLines = result.errors.split(separator: "\n").filter { $0.hasPrefix("error:") }
        #expect(errorLines.count == 1, "\(result.errors)")
        let line = String(errorLines.first ?? "")
        #expect(line.contains("damaged/activations.h5/layer02: cannot read dataset block: chunk of images 0..."), "\(line)")
        #expect(line.contains("libdeflate: ") && line.contains("re-run `filterlens train`"), "\(line)")
        #expect(!FileManager.default.fileExists(atPath: damaged.appendingPathComponent("analysis.h5").path))
        // The undamaged run analyses.
        #expect(try runFilterLens(["analyze", "good"], in: root).status == 0)
    }
}

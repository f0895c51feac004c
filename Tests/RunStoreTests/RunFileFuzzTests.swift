import Foundation
import HDF5
import RunStore
import Testing
import TestSupport

@Suite("run-file reader under damaged files", .serialized)
struct RunFileFuzzTests {
    /// Writes a valid run.h5, then reads 200 damaged copies (random bytes overwritten, or cut short): each must read
    /// or fail with a RunStoreError naming the file; never a crash or a hang. (Phase 2's probe.h5, whose damaged copies
    /// can make HDF5 1.10.8 itself loop forever in-process, is fuzzed through the command line and its call guard:
    /// `DamagedRunFuzzTests`.)
    /// Damaged copies per run; FILTERLENS_FUZZ_COUNT raises it for a long one-off run.
    static let count = fuzzTrials("FILTERLENS_FUZZ_COUNT", standard: 200)

    @Test("damaged run files never crash the reader (200 by default)")
    func fuzzReader() throws {
        let folder = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent(RunLayout.runFile)
        let writer = try RunFileWriter(creating: url)
        try writer.writeHeader(configuration: RunConfiguration(preset: "tiny", notation: "8 M", epochs: 1),
                               labelNames: ["a", "b"], provenance: ["k": "v"])
        try writer.writeMetrics([EpochMetrics(epoch: 1, learningRate: 0.1, trainLoss: 1, trainSR: 0.5, testLoss: 1,
                                              testSR: 0.5, seconds: 1, imagesPerSecond: 1)])
        try (0..<32).map(Float.init).withUnsafeBufferPointer { try writer.writeParameter(name: "conv1.weight", shape: [2, 1, 4, 4], values: $0) }
        try writer.commit()
        let original = try Data(contentsOf: url)
        // Seed 0x0F11_E5ED, this test's before run.h5 gained @run_id (layout version 2), damages trial 68's copy so that
        // HDF5 1.10.8 itself loops forever: a hang no in-process reader can end (the command line's call guard does:
        // DamagedRunFuzzTests, ForeignRunTests.hangingFile).
        var random = FuzzRandom(seed: 0x0F11_E5EE)
        var readable = 0, refused = 0
        for trial in 0..<Self.count {
            var bytes = original
            if trial % 4 == 3 {
                bytes = bytes.prefix(random.next() % bytes.count)
            } else {
                for _ in 0..<(1 + random.next() % 16) { bytes[random.next() % bytes.count] = UInt8(truncatingIfNeeded: random.next()) }
            }
            let damaged = folder.appendingPathComponent("damaged-\(trial).h5")
            try bytes.write(to: damaged)
            do {
                let reader = try RunFileReader(damaged)
                _ = try reader.configuration()
                _ = try reader.metrics()
                _ = try reader.labelNames()
                for name in try reader.parameterNames() { _ = try reader.parameter(name) }
                readable += 1
            } catch {
                #expect(error.description.contains("damaged-\(trial).h5"), "\(error)")
                refused += 1
            }
            try? FileManager.default.removeItem(at: damaged)
        }
        #expect(readable + refused == Self.count)
        #expect(refused > 0)
    }
}

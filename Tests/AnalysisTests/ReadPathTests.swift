import Analysis
import Foundation
import HDF5
import RunStore
import Testing

/// Phase 3 over a whole run directory, reading activations.h5 by direct chunk reads and through HDF5's filter pipeline.
@Suite("phase 3 by either read path")
struct ReadPathTests {
    static let labelNames = (0..<10).map { "label\($0)" }
    /// 250 test images. Layer 1: 64 x 16 x 16 (16 images a chunk: 16 chunks, the last holding 10, so batches of 100
    /// start and end inside chunks); layer 2: 16 x 8 x 8 (all images in one chunk); layer 3: 10 x 1 x 1.
    static let images = 250
    static let shapes = [BlockShape(channels: 64, height: 16, width: 16), BlockShape(channels: 16, height: 8, width: 8),
                         BlockShape(channels: 10, height: 1, width: 1)]

    /// Writes run.h5, probe.h5 (a probe per layer) and activations.h5 into `folder`: ReLU-like block outputs whose
    /// channels respond to labels, so filters form clusters.
    static func writeRun(in folder: URL) throws {
        var random = SeededValues(seed: 0xF11E)
        let labels = random.labels(images, labelCount: 10)
        let runURL = folder.appendingPathComponent(RunLayout.runFile)
        let run = try RunFileWriter(creating: runURL)
        try run.writeHeader(configuration: RunConfiguration(preset: "tiny", notation: "64 M 16 M 10 M", epochs: 1),
                            labelNames: labelNames, provenance: [:])
        try run.writeMetrics([EpochMetrics(epoch: 1, learningRate: 0.1, trainLoss: 2, trainSR: 0.2, testLoss: 2,
                                           testSR: 0.25, seconds: 1, imagesPerSecond: 100)])
        try run.commit()
        let probes = try ProbeFileWriter(creating: folder.appendingPathComponent(RunLayout.probeFile),
                                         runID: try RunFileReader(runURL).identity)
        for (index, shape) in shapes.enumerated() {
            try probes.writeProbe(ProbeHead(layer: index + 1, weight: random.values(10 * shape.count), labelCount: 10,
                                            channels: shape.channels, height: shape.height, width: shape.width,
                                            epochs: [ProbeEpoch(epoch: 1, trainLoss: 1, testSR: 0.3)], lossFlag: "ok"))
        }
        try probes.commit()
        let activations = try ActivationsWriter(creating: folder.appendingPathComponent(RunLayout.activationsFile),
                                                labels: labels, shapes: shapes)
        for (index, shape) in shapes.enumerated() {
            var values = [Float](repeating: 0, count: images * shape.count)
            for image in 0..<images {
                let plane = shape.height * shape.width
                for channel in 0..<shape.channels {
                    let tuned = channel % 10 == Int(labels[image]) ? Float(2) : 0
                    for p in 0..<plane {
                        values[(image * shape.channels + channel) * plane + p] = max(0, random.next() + tuned)
                    }
                }
            }
            try values.withUnsafeBufferPointer { try activations.write(layer: index + 1, start: 0, batch: images, values: $0) }
        }
        try activations.commit()
    }

    /// Every dataset of analysis.h5 under /layers, /summary and /sweep, as bit patterns (doubles) or values (integers).
    static func contents(of url: URL) throws -> [String: [UInt64]] {
        let root = try H5File.open(url.path).root
        var contents: [String: [UInt64]] = [:]
        func walk(_ group: H5Group, _ path: String) throws {
            for name in try group.memberNames() {
                if let dataset = try? group.openDataset(name) {
                    switch dataset.elementType {
                    case .float64: contents[path + name] = try dataset.read(as: Double.self).map(\.bitPattern)
                    case .uint8: contents[path + name] = try dataset.read(as: UInt8.self).map(UInt64.init)
                    case nil: continue   // the label names of the coordinates (strings)
                    default: contents[path + name] = try dataset.read(as: Int64.self).map { UInt64(bitPattern: $0) }
                    }
                } else {
                    try walk(try group.openGroup(name), path + name + "/")
                }
            }
        }
        try walk(root, "/")
        return contents
    }

    @Test("direct chunk reads give the analysis of HDF5's own reads, bit for bit (raw matrices to the sweep)")
    func bitIdentical() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("filterlens-readpath-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let direct = root.appendingPathComponent("direct"), plain = root.appendingPathComponent("plain")
        try FileManager.default.createDirectory(at: direct, withIntermediateDirectories: true)
        try writeRunAndCopy(to: direct, plain)
        let reader = try ActivationsReader(direct.appendingPathComponent(RunLayout.activationsFile))
        for layer in 1...Self.shapes.count { #expect(try reader.readsDirectly(layer: layer), "layer \(layer) reads directly") }

        let parameters = AnalysisParameters()
        let fast = try RunAnalysis.run(directory: direct, parameters: parameters, sweepThresholds: [0.2, 0.5]) { _ in }
        let slow = try RunAnalysis.run(directory: plain, parameters: parameters, sweepThresholds: [0.2, 0.5],
                                       readPath: .plain) { _ in }
        #expect(fast.count == 3 && slow.count == 3)
        #expect(fast.map(\.summary.snr.bitPattern) == slow.map(\.summary.snr.bitPattern))
        #expect(fast.contains { $0.summary.clusteredCount > 0 }, "the data give clusters, so the comparison covers them")
        let fastContents = try Self.contents(of: direct.appendingPathComponent(RunLayout.analysisFile))
        let slowContents = try Self.contents(of: plain.appendingPathComponent(RunLayout.analysisFile))
        #expect(fastContents.keys.contains("/layers/layer01/raw") && fastContents.count > 30)
        #expect(Set(fastContents.keys) == Set(slowContents.keys))
        for (name, values) in fastContents { #expect(values == slowContents[name], "\(name)") }
        let csv = { (folder: URL) in try String(contentsOf: folder.appendingPathComponent("layers.csv"), encoding: .utf8) }
        #expect(try csv(direct) == csv(plain))
    }

    /// Writes the run into `first` and copies run.h5, probe.h5 and activations.h5 into `second`.
    private func writeRunAndCopy(to first: URL, _ second: URL) throws {
        try Self.writeRun(in: first)
        try FileManager.default.createDirectory(at: second, withIntermediateDirectories: true)
        for name in [RunLayout.runFile, RunLayout.probeFile, RunLayout.activationsFile] {
            try FileManager.default.copyItem(at: first.appendingPathComponent(name), to: second.appendingPathComponent(name))
        }
    }
}

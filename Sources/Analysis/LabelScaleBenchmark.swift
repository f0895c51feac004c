import Foundation
import RunStore
import Tensor

/// A synthetic run dissected elsewhere, shaped like a network's layers, at any number of labels: run.h5, probe.h5 and
/// fields.h5 as filterlens-torch's `dissect` writes them, for timing `analyze` and `report` at scale
/// (`filterlens bench-labels`, docs/performance.md). Nothing here is trained.
///
/// - Labels "label0000", ...; `imagesPerLabel` test images each (the counts of fields.h5).
/// - Layer l has `channels[l]` filters and a 1 x 1 block output: phase 3 from field sums reads only C (fields.h5's H
///   and W are recorded, not used), and probe.h5's weights (never read from a run with fields.h5) stay L x C floats.
/// - Filter f of a layer has a cluster of 1 + f % 4 consecutive labels starting at label 7 f (mod L) and a dominant
///   output label 3 f (mod L): its field sum for true label i and output label j is images x (u + 3 [i and j in the
///   cluster] + 0.5 [j dominant]), u seeded uniform in [-1, 1); every 16th filter is silent (all sums -1).
public enum LabelScaleRun {
    /// VGG-16's convolutional layers: 13 layers, 4,224 filters.
    public static let vgg16Channels = [64, 64, 128, 128, 256, 256, 256, 512, 512, 512, 512, 512, 512]

    /// Writes the run into `directory` (created): layers `layers` (1-based, of `channels`), L = `labels`.
    public static func write(directory: URL, labels: Int, channels: [Int], layers: [Int], imagesPerLabel: Int = 10,
                             seed: UInt64 = 1) throws(RunStoreError) {
        precondition(labels >= 2 && imagesPerLabel >= 1 && layers.allSatisfy { channels.indices.contains($0 - 1) })
        do { try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true) } catch {
            throw RunStoreError(path: directory.path, problem: "cannot create the folder (\(error.localizedDescription))",
                                fix: "choose a writable --out")
        }
        let names = (0..<labels).map { String(format: "label%04d", $0) }
        let runURL = directory.appendingPathComponent(RunLayout.runFile)
        let run = try RunFileWriter(creating: runURL)
        var configuration = RunConfiguration(preset: "synthetic", notation: "field sums of \(channels.count) layers", labelCount: labels, epochs: 0)
        configuration.dataset = "synthetic field sums, \(labels) labels (filterlens bench-labels)"
        try run.writeHeader(configuration: configuration, labelNames: names, provenance: [:])
        try run.commit()
        let probes = try ProbeFileWriter(creating: directory.appendingPathComponent(RunLayout.probeFile),
                                         runID: try RunFileReader(runURL).identity)
        let fields = try FieldSumsWriter(creating: directory.appendingPathComponent(RunLayout.fieldsFile),
                                         imagesPerLabel: [Int](repeating: imagesPerLabel, count: labels))
        for layer in layers {
            let c = channels[layer - 1]
            try probes.writeProbe(ProbeHead(layer: layer, weight: [Float](repeating: 0, count: labels * c), labelCount: labels,
                                            channels: c, height: 1, width: 1,
                                            epochs: [ProbeEpoch(epoch: 1, trainLoss: 1, testSR: 0.5)], lossFlag: "ok"))
            var random = SeededGenerator(seed: seed &+ UInt64(layer))
            let images = Double(imagesPerLabel)
            try fields.writeLayer(layer, shape: BlockShape(channels: c, height: 1, width: 1)) { rows in
                var sums = [Double](repeating: 0, count: rows.count * c * labels)
                for (r, i) in rows.enumerated() {
                    for f in 0..<c {
                        let base = (r * c + f) * labels
                        if f % 16 == 15 {
                            for j in 0..<labels { sums[base + j] = -1 }
                            continue
                        }
                        let first = 7 * f % labels, size = 1 + f % 4
                        let inCluster = { (label: Int) in (label - first + labels) % labels < size }
                        let dominant = 3 * f % labels
                        for j in 0..<labels {
                            let u = Double(random.nextUniform(-1, 1))
                            sums[base + j] = images * (u + (inCluster(i) && inCluster(j) ? 3 : 0) + (j == dominant ? 0.5 : 0))
                        }
                    }
                }
                return sums
            }
        }
        try probes.commit()
        try fields.commit()
    }
}

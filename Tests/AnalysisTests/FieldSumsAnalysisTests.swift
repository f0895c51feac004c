import Analysis
import Foundation
import HDF5
import RunStore
import Testing

/// A run directory with two layers of probes in probe.h5 and the same test set stored twice: as activations
/// (`activations.h5`) in one directory and as their field sums (`fields.h5`) in the other.
private struct TwinRuns {
    let root: URL
    let fromActivations: URL
    let fromFields: URL
    static let labels = ["a", "b", "c"]
    static let shapes = [BlockShape(channels: 4, height: 3, width: 3), BlockShape(channels: 6, height: 2, width: 2)]
    static let images = 230

    init() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("filterlens-twins-\(UUID().uuidString)")
        fromActivations = root.appendingPathComponent("activations")
        fromFields = root.appendingPathComponent("fields")
        for directory in [fromActivations, fromFields] {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        }
        var random = SeededValues(seed: 11)
        let labelCount = Self.labels.count
        let trueLabels = random.labels(Self.images, labelCount: labelCount)
        let heads = Self.shapes.map { random.values(labelCount * $0.count) }
        // Filter f of each layer fires for label f % labels, so the matrices have structure to cluster.
        let activations = Self.shapes.map { shape in
            (0..<Self.images).flatMap { k in
                (0..<shape.channels).flatMap { f in
                    random.values(shape.height * shape.width).map { max($0, 0) + (Int(trueLabels[k]) == f % labelCount ? 1 : 0) }
                }
            }
        }
        for directory in [fromActivations, fromFields] {
            let runURL = directory.appendingPathComponent(RunLayout.runFile)
            let run = try RunFileWriter(creating: runURL)
            try run.writeHeader(configuration: RunConfiguration(preset: "test", notation: "4 M 6", epochs: 1),
                                labelNames: Self.labels, provenance: [:])
            try run.commit()
            let probes = try ProbeFileWriter(creating: directory.appendingPathComponent(RunLayout.probeFile),
                                             runID: try RunFileReader(runURL).identity)
            for (index, shape) in Self.shapes.enumerated() {
                try probes.writeProbe(ProbeHead(layer: index + 1, weight: heads[index], labelCount: labelCount,
                                                channels: shape.channels, height: shape.height, width: shape.width,
                                                epochs: [ProbeEpoch(epoch: 1, trainLoss: 0.5, testSR: 0.6 + 0.1 * Double(index))],
                                                lossFlag: "ok"))
            }
            try probes.commit()
        }
        let store = try ActivationsWriter(creating: fromActivations.appendingPathComponent(RunLayout.activationsFile),
                                          labels: trueLabels, shapes: Self.shapes)
        for (index, values) in activations.enumerated() {
            try values.withUnsafeBufferPointer { try store.write(layer: index + 1, start: 0, batch: Self.images, values: $0) }
        }
        try store.commit()
        // The sums as a PyTorch dissection would store them: accumulated in one pass, here by the same accumulator.
        var counts = [Int](repeating: 0, count: labelCount)
        for label in trueLabels { counts[Int(label)] += 1 }
        let fields = try FieldSumsWriter(creating: fromFields.appendingPathComponent(RunLayout.fieldsFile), imagesPerLabel: counts)
        for (index, shape) in Self.shapes.enumerated() {
            let accumulator = FieldAccumulator(weights: heads[index], labelCount: labelCount, channels: shape.channels,
                                               height: shape.height, width: shape.width)
            for start in stride(from: 0, to: Self.images, by: 100) {   // RunAnalysis's batches of 100 images
                let batch = min(100, Self.images - start)
                accumulator.add(activations: Array(activations[index][(start * shape.count)..<((start + batch) * shape.count)]),
                                labels: Array(trueLabels[start..<(start + batch)]))
            }
            try fields.writeLayer(index + 1, sums: accumulator.fieldSums.sums, shape: shape)
        }
        try fields.commit()
    }
}

@Suite("phase 3 from stored field sums")
struct FieldSumsAnalysisTests {
    @Test("stored sums give the accumulator's raw matrices")
    func storedSumsGiveTheSameMatrices() {
        let (labels, channels, height, width) = (3, 2, 2, 2)
        var random = SeededValues(seed: 3)
        let accumulator = FieldAccumulator(weights: random.values(labels * channels * height * width), labelCount: labels,
                                           channels: channels, height: height, width: width)
        accumulator.add(activations: random.values(7 * channels * height * width), labels: random.labels(7, labelCount: labels))
        let stored = FieldSums(labelCount: labels, channels: channels, sums: accumulator.fieldSums.sums,
                               countsPerLabel: accumulator.countsPerLabel)
        #expect(stored.rawMatrices() == accumulator.rawMatrices())
        #expect(stored.rawMatrices().contains { $0.values.contains { $0 != 0 } })
    }

    @Test("element (i, j) of filter f is sums[i][f][j] over the images of label i")
    func layoutOfTheSums() {
        // 2 labels, 2 filters: sums[i][f][j] = 100 i + 10 f + j; 4 images of label 0, 2 of label 1.
        var sums: [Double] = []
        for i in 0..<2 {
            for f in 0..<2 {
                for j in 0..<2 { sums.append(Double(100 * i + 10 * f + j)) }
            }
        }
        let raw = FieldSums(labelCount: 2, channels: 2, sums: sums, countsPerLabel: [4, 2]).rawMatrices()
        #expect(raw[0] == FilterLabelMatrix(rows: [[0, 0.25], [50, 50.5]]))
        #expect(raw[1] == FilterLabelMatrix(rows: [[2.5, 2.75], [55, 55.5]]))
    }

    @Test("a run with fields.h5 instead of activations.h5 gives the same analysis")
    func sameAnalysisFromEitherSource() throws {
        let twins = try TwinRuns()
        defer { try? FileManager.default.removeItem(at: twins.root) }
        let parameters = AnalysisParameters()
        let fromActivations = try RunAnalysis.run(directory: twins.fromActivations, parameters: parameters,
                                                  sweepThresholds: [0.5]) { _ in }
        let fromFields = try RunAnalysis.run(directory: twins.fromFields, parameters: parameters, sweepThresholds: [0.5]) { _ in }
        #expect(fromActivations.map(\.layer) == [1, 2] && fromFields.map(\.layer) == [1, 2])
        let a = try AnalysisFileReader(twins.fromActivations.appendingPathComponent(RunLayout.analysisFile))
        let f = try AnalysisFileReader(twins.fromFields.appendingPathComponent(RunLayout.analysisFile))
        for layer in [1, 2] {
            for name in ["raw", "normalized", "binary"] {
                let (expected, actual) = (try a.matrices(layer: layer, name), try f.matrices(layer: layer, name))
                #expect(actual.filters == expected.filters && actual.values == expected.values, "layer \(layer) \(name)")
            }
            #expect(try f.filterColumn(layer: layer, "cluster_count") == a.filterColumn(layer: layer, "cluster_count"))
        }
        #expect(try f.matrices(layer: 2, "binary").values.contains(1), "the matrices have bright elements to compare")
        for column in LayerColumns.phaseThree.map(\.name) {   // SR(l) stays in probe.h5; layers.csv holds it (below)
            let (expected, actual) = (try a.summaryColumn(column), try f.summaryColumn(column))
            #expect(expected != nil)
            #expect(zip(expected ?? [], actual ?? []).allSatisfy { isClose($1, $0, relative: 0) }, "\(column)")
        }
        let sweepFromFields: [Double] = try f.sweep("snr")?.rows.flatMap { $0 } ?? []
        let sweepFromActivations: [Double] = try a.sweep("snr")?.rows.flatMap { $0 } ?? []
        #expect(!sweepFromActivations.isEmpty && sweepFromFields.count == sweepFromActivations.count)
        #expect(zip(sweepFromFields, sweepFromActivations).allSatisfy { isClose($0, $1, relative: 0) })
        #expect(f.string("source_fields") == "fields.h5" && f.string("source_activations") == nil)
        #expect(a.string("source_activations") == "activations.h5" && a.string("source_fields") == nil)
        #expect(f.number("images") == Double(TwinRuns.images))
        let csv = { (directory: URL) in try String(contentsOf: directory.appendingPathComponent("layers.csv"), encoding: .utf8) }
        #expect(try csv(twins.fromFields) == csv(twins.fromActivations))
        // SR(l) is read from probe.h5, not copied into analysis.h5; layers.csv shows it beside phase 3's columns.
        #expect(try a.summaryColumn(LayerColumns.probeFinalSR.name) == nil && a.string("source_probe") == "probe.h5")
        let rows = try csv(twins.fromFields).split(separator: "\n").map { $0.split(separator: ",").map(String.init) }
        #expect(rows[0].prefix(3) == ["layer", "sr_probe_final", "sr_probe_best"])
        #expect(rows.dropFirst().map { $0[1] } == ["0.6", "0.7"])
    }

    @Test("an analysis.h5 made before a declared column existed departs from the flags, naming the column")
    func analysisLackingAColumnDeparts() throws {
        let twins = try TwinRuns()
        defer { try? FileManager.default.removeItem(at: twins.root) }
        let directory = twins.fromFields
        try RunAnalysis.run(directory: directory, parameters: AnalysisParameters(), sweepThresholds: [0.5]) { _ in }
        #expect(RunAnalysis.departure(ofAnalysisIn: directory, from: AnalysisParameters(), sweepThresholds: [0.5]) == nil)
        do {
            let file = try H5File.open(directory.appendingPathComponent(RunLayout.analysisFile).path, writable: true)
            try file.root.openGroup("summary").remove(LayerColumns.snrCluster.name)
        }
        let departure = RunAnalysis.departure(ofAnalysisIn: directory, from: AnalysisParameters(), sweepThresholds: [0.5])
        #expect(departure == "made before the columns snr_cluster existed")
    }

    @Test("activations.h5 is read when a run holds both; neither is one error naming both")
    func sourceChoice() throws {
        let twins = try TwinRuns()
        defer { try? FileManager.default.removeItem(at: twins.root) }
        try FileManager.default.copyItem(at: twins.fromFields.appendingPathComponent(RunLayout.fieldsFile),
                                         to: twins.fromActivations.appendingPathComponent(RunLayout.fieldsFile))
        guard case .activations = try TestSetSource.open(in: twins.fromActivations) else {
            Issue.record("a run with both files must keep reading activations.h5")
            return
        }
        try FileManager.default.removeItem(at: twins.fromFields.appendingPathComponent(RunLayout.fieldsFile))
        let error = #expect(throws: RunStoreError.self) {
            try RunAnalysis.run(directory: twins.fromFields, parameters: AnalysisParameters(), sweepThresholds: []) { _ in }
        }
        #expect(error?.description.contains("\(twins.fromFields.path): neither activations.h5 nor fields.h5 in the run") == true)
        #expect(error?.description.contains("filterlens-torch") == true)
    }

    @Test("sums of another network are refused, naming fields.h5")
    func mismatchedShape() throws {
        let twins = try TwinRuns()
        defer { try? FileManager.default.removeItem(at: twins.root) }
        let url = twins.fromFields.appendingPathComponent(RunLayout.fieldsFile)
        let writer = try FieldSumsWriter(creating: url, imagesPerLabel: [1, 1, 1])
        try writer.writeLayer(1, sums: [Double](repeating: 0, count: 3 * 4 * 3), shape: BlockShape(channels: 4, height: 5, width: 5))
        try writer.commit()
        let error = #expect(throws: RunStoreError.self) {
            try RunAnalysis.run(directory: twins.fromFields, parameters: AnalysisParameters(), sweepThresholds: []) { _ in }
        }
        #expect(error?.description.contains("fields.h5 [/layer01]: block shape 4x5x5 differs from the head's 4x3x3") == true)
        #expect(error?.description.contains("probe.h5 and fields.h5 must come from the same network") == true)
    }
}

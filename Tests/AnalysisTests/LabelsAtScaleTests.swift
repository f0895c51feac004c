import Analysis
import Foundation
import HDF5
import RunStore
import Testing

/// A run dissected elsewhere: run.h5, probe.h5 (zero weights: fields.h5 holds the fields) and fields.h5 with seeded
/// sums; filter f of each layer is strongest for the labels f, f + 1 (mod L) so that there are clusters.
private func fieldsRun(labels: Int, channels: [Int], seed: UInt64) throws -> URL {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("filterlens-scale-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    let names = (0..<labels).map { "label\($0)" }
    let runURL = directory.appendingPathComponent(RunLayout.runFile)
    let run = try RunFileWriter(creating: runURL)
    try run.writeHeader(configuration: RunConfiguration(preset: "test", notation: "x", epochs: 1), labelNames: names, provenance: [:])
    try run.commit()
    let probes = try ProbeFileWriter(creating: directory.appendingPathComponent(RunLayout.probeFile), runID: try RunFileReader(runURL).identity)
    var random = SeededValues(seed: seed)
    let counts = (0..<labels).map { 3 + $0 % 4 }
    let fields = try FieldSumsWriter(creating: directory.appendingPathComponent(RunLayout.fieldsFile), imagesPerLabel: counts)
    for (index, c) in channels.enumerated() {
        try probes.writeProbe(ProbeHead(layer: index + 1, weight: [Float](repeating: 0, count: labels * c), labelCount: labels,
                                        channels: c, height: 1, width: 1,
                                        epochs: [ProbeEpoch(epoch: 1, trainLoss: 0.5, testSR: 0.5)], lossFlag: "ok"))
        var sums = [Double](repeating: 0, count: labels * c * labels)
        for i in 0..<labels {
            for f in 0..<c {
                for j in 0..<labels {
                    let strong = (i == f % labels || i == (f + 1) % labels) && (j == f % labels || j == (f + 1) % labels)
                    // filter 1 of every layer is silent: nothing positive, even after centring
                    sums[(i * c + f) * labels + j] = f == 1 ? 0 : Double(counts[i]) * (Double(random.next()) + (strong ? 4 : 0))
                }
            }
        }
        try fields.writeLayer(index + 1, sums: sums, shape: BlockShape(channels: c, height: 1, width: 1))
    }
    try probes.commit()
    try fields.commit()
    return directory
}

/// NaN-tolerant equality of two summaries' columns.
private func sameColumns(_ a: LayerSummary, _ b: LayerSummary) -> Bool {
    LayerColumns.phaseThree.allSatisfy { column in
        let (x, y) = (a.value(column), b.value(column))
        return x == y || (x.isNaN && y.isNaN)
    } && a.clusterSizeHistogram == b.clusterSizeHistogram && a.dominantLabelShare == b.dominantLabelShare
}

@Suite("labels at scale: a block of filters at a time, analysis.h5 layout version 3")
struct LabelsAtScaleTests {
    @Test("a block of filters analysed on every core gives each filter's own analysis and the threshold sweep", arguments: Normalization.allCases)
    func blockEqualsFilterByFilter(normalization: Normalization) {
        let (filters, labels) = (9, 12)
        var random = SeededValues(seed: 5)
        var raw = random.values(filters * labels * labels).map(Double.init)
        for index in (3 * labels * labels)..<(4 * labels * labels) { raw[index] = -1 }   // filter 3 silent
        let parameters = AnalysisParameters(threshold: 0.3, normalization: normalization)
        let thresholds = [0.2, 0.3, 0.5]
        let block = FilterBlockAnalysis(raw: raw, filters: filters, labelCount: labels, parameters: parameters, thresholds: thresholds)
        let matrices = (0..<filters).map { FilterLabelMatrix(labelCount: labels, values: Array(raw[($0 * labels * labels)..<(($0 + 1) * labels * labels)])) }
        for (k, matrix) in matrices.enumerated() {
            let alone = FilterAnalysis(raw: matrix, parameters: parameters)
            #expect(Array(block.binary[(k * labels * labels)..<((k + 1) * labels * labels)]) == alone.binary.values, "filter \(k)")
            #expect(Array(block.clusterOfLabel[(k * labels)..<((k + 1) * labels)]) == alone.clusterAssignment)
            #expect(block.scale[k] == alone.scale)
            #expect(block.summaries[k].columnValues.map(\.bitPattern) == FilterSummary(alone).columnValues.map(\.bitPattern), "filter \(k)")
        }
        #expect(block.scale[3] == 0 && block.summaries[3].isSilent && block.scale[0] > 0)
        #expect(block.binary.contains(1) && block.summaries.contains { $0.clusterCount > 0 }, "something to compare")
        let sweep = LayerAnalysis.thresholdSweep(rawMatrices: matrices, thresholds: thresholds, normalization: normalization)
        for t in thresholds.indices {
            let summary = LayerSummary(summaries: block.sweep[t],
                                       parameters: AnalysisParameters(threshold: thresholds[t], normalization: normalization))
            #expect(sameColumns(summary, sweep[t]), "threshold \(thresholds[t])")
        }
    }

    @Test("analysis.h5 written block by block: version 3, normalized derived exactly, coordinates, at most 1.2 x the raw matrices")
    func streamedLayoutVersion3() throws {
        let (labels, channels) = (40, [5, 37])
        let run = try fieldsRun(labels: labels, channels: channels, seed: 9)
        let twin = run.deletingLastPathComponent().appendingPathComponent(run.lastPathComponent + "-whole")
        defer { for url in [run, twin] { try? FileManager.default.removeItem(at: url) } }
        try FileManager.default.copyItem(at: run, to: twin)
        let parameters = AnalysisParameters(threshold: 0.3, normalization: .columnCentred)
        var blocksSeen = 0
        // Blocks of 4 filters (the smallest: two per core) against the whole layer at once.
        let small = try RunAnalysis.run(directory: run, parameters: parameters, sweepThresholds: [0.5], filterBlockBytes: 1) { progress in
            if progress.filterCount > 0 && progress.filtersDone > 0 { blocksSeen += 1 }
            #expect(progress.allFilters == channels.reduce(0, +) && progress.allFiltersDone <= progress.allFilters)
        }
        let whole = try RunAnalysis.run(directory: twin, parameters: parameters, sweepThresholds: [0.5]) { _ in }
        #expect(blocksSeen > 4, "the 37 filters came in several blocks: \(blocksSeen) progress reports")
        for (a, b) in zip(small, whole) {
            #expect(sameColumns(a.summary, b.summary) && zip(a.sweep, b.sweep).allSatisfy(sameColumns))
        }
        let url = run.appendingPathComponent(RunLayout.analysisFile)
        let analysis = try AnalysisFileReader(url)
        let other = try AnalysisFileReader(twin.appendingPathComponent(RunLayout.analysisFile))
        #expect(analysis.formatVersion == 3)
        let file = try H5File.open(url.path)
        for (index, c) in channels.enumerated() {
            let layer = index + 1
            let group = try file.root.openGroup("layers/" + RunLayout.layerName(layer))
            #expect(!group.contains("normalized"), "layout version 3 derives the normalized matrices")
            #expect(try group.openDataset("raw").dimensionLabels() == ["filter", "input_label", "output_label"])
            #expect(try group.openDataset("filter").isDimensionScale() && group.openDataset("label").isDimensionScale())
            #expect(try group.openDataset("filter").read(as: Int32.self) == (0..<Int32(c)).map { $0 })
            let raw = try analysis.matrices(layer: layer, "raw")
            let otherRaw = try other.matrices(layer: layer, "raw").values
            #expect(raw.filters == c && raw.labels == labels && raw.values == otherRaw)
            #expect(try analysis.matrices(layer: layer, "binary").values == other.matrices(layer: layer, "binary").values)
            let normalized = try analysis.matrices(layer: layer, "normalized").values
            let cells = labels * labels
            for f in 0..<c {
                let expected = FilterAnalysis(raw: FilterLabelMatrix(labelCount: labels, values: Array(raw.values[(f * cells)..<((f + 1) * cells)])),
                                              parameters: parameters)
                #expect(Array(normalized[(f * cells)..<((f + 1) * cells)]) == expected.normalized.values, "layer \(layer) filter \(f)")
            }
            let block = try analysis.matrices(layer: layer, "normalized", filters: 2..<4)
            #expect(block.filters == 2 && block.values == Array(normalized[(2 * cells)..<(4 * cells)]))
            #expect(try analysis.filterColumn(layer: layer, "silent")[1] == 1)
        }
        let rawBytes = Double(channels.reduce(0, +) * labels * labels * 8)
        let size = Double(try FileManager.default.attributesOfItem(atPath: url.path)[.size] as! Int)
        #expect(size <= 1.2 * rawBytes, "analysis.h5 is \(size / rawBytes) x the raw matrices")
        #expect(try file.root.openGroup("summary").openDataset("layer").isDimensionScale())
        #expect(try file.root.openGroup("sweep").openDataset("snr").dimensionLabels() == ["threshold", "layer"])
    }

    @Test("--layers analyses only the layers named; a layer without a probe is one clear error")
    func chosenLayers() throws {
        let run = try fieldsRun(labels: 4, channels: [3, 5], seed: 2)
        defer { try? FileManager.default.removeItem(at: run) }
        let results = try RunAnalysis.run(directory: run, parameters: AnalysisParameters(), sweepThresholds: [], layers: [2]) { _ in }
        #expect(results.map(\.layer) == [2])
        let analysis = try AnalysisFileReader(run.appendingPathComponent(RunLayout.analysisFile))
        #expect(try analysis.layers() == [2])
        #expect(try analysis.filterCount(layer: 2) == 5)
        let csv = try String(contentsOf: run.appendingPathComponent("layers.csv"), encoding: .utf8)
        #expect(csv.split(separator: "\n").count == 2 && csv.contains("\n2,"))
        do {
            try RunAnalysis.run(directory: run, parameters: AnalysisParameters(), sweepThresholds: [], layers: [3]) { _ in }
            Issue.record("layer 3 has no probe")
        } catch {
            #expect(error.problem.contains("layer 3 has no phase 2 probe") && error.fix.contains("--layers"))
        }
    }
}

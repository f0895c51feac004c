import Foundation
import RunStore

/// Everything a report shows of one run, read from its HDF5 files.
public struct RunContents: Sendable {
    /// The run directory.
    public var directory: URL
    /// Its name (the directory's last component).
    public var name: String { directory.lastPathComponent }
    /// Training configuration; nil for runs written by another tool.
    public var configuration: RunConfiguration?
    /// Provenance strings of `run.h5`.
    public var provenance: [String: String]
    /// Data set name.
    public var dataset: String
    /// Label names.
    public var labelNames: [String]
    /// Phase 1 metrics (may be empty).
    public var metrics: [EpochMetrics]
    /// Phase 2 probes without their weights, by layer (empty when the run has none).
    public var probes: [ProbeHead]
    /// The phase 2 recipe the probes were trained with, nil when their file lacks it.
    public var probeRecipe: ProbeConfiguration?
    /// The file the probes were read from: "probe.h5", or "run.h5" for a run of layout version 1; nil without probes.
    public var probeFile: String?
    /// Layers analysed.
    public var layers: [Int]
    /// Per-layer table by column name: SR(l) from the probes, the rest from `analysis.h5` (`/summary`).
    public var summary: [String: [Double]]
    /// Column order of the summary table.
    public var summaryOrder: [String]
    /// Layers x labels: count of clusters of each size (index = size - 1).
    public var clusterSizeHistogram: [[Double]]
    /// Layers x labels: share of non-silent filters per dominant output label.
    public var dominantLabelShare: [[Double]]
    /// Threshold sweep of the SNR: thresholds and T x layers values.
    public var snrSweep: (thresholds: [Double], rows: [[Double]])?
    /// Analysis parameters as recorded: threshold, normalization, SNR definition.
    public var threshold: Double
    public var normalization: String
    public var snrDefinition: String
    /// Full-network test SR (last epoch).
    public var fullSR: Double { metrics.last?.testSR ?? .nan }

    /// Reads the run in `directory`: run.h5, its probes (`ProbeSource`) and analysis.h5.
    public init(directory: URL) throws(RunStoreError) {
        self.directory = directory
        let run = try RunFileReader(directory.appendingPathComponent(RunLayout.runFile))
        let source = try ProbeSource.find(for: run)
        let analysis = try AnalysisFileReader(directory.appendingPathComponent(RunLayout.analysisFile))
        configuration = try run.configuration()
        provenance = run.provenance()
        dataset = run.datasetName()
        labelNames = try run.labelNames()
        metrics = try run.metrics()
        let labelCount = labelNames.count
        probes = try (source?.layers() ?? []).map { (layer) throws(RunStoreError) in
            try source!.probe(layer: layer, labelCount: labelCount, readingWeight: false)
        }
        probeRecipe = source?.recipe()
        probeFile = source?.fileName
        layers = try analysis.layers()
        var summary: [String: [Double]] = [:]
        var order: [String] = []
        if source != nil {   // SR(l) of each analysed layer, from its probe (a version 1 analysis.h5's copies are not read)
            let probes = self.probes
            let byLayer = { (layer: Int) in probes.first { $0.layer == layer } }
            summary[LayerColumns.probeFinalSR.name] = layers.map { byLayer($0)?.finalSR ?? .nan }
            summary[LayerColumns.probeBestSR.name] = layers.map { byLayer($0)?.bestSR ?? .nan }
            order = LayerColumns.probe.map(\.name)
        }
        for name in LayerColumns.phaseThree.map(\.name) {
            if let column = try analysis.summaryColumn(name) {
                summary[name] = column
                order.append(name)
            }
        }
        self.summary = summary
        summaryOrder = order
        clusterSizeHistogram = try analysis.summaryMatrix("cluster_size_histogram")
        dominantLabelShare = try analysis.summaryMatrix("dominant_label_share")
        snrSweep = try analysis.sweep("snr")
        threshold = analysis.number("threshold") ?? .nan
        normalization = analysis.string("normalization") ?? "unknown"
        snrDefinition = analysis.string("snr_definition") ?? "unknown"
    }

    /// A summary column, NaNs when absent.
    public func column(_ name: String) -> [Double] {
        summary[name] ?? layers.map { _ in .nan }
    }
}

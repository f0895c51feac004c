import Dispatch

/// Phase 3 for a block of consecutive filters of one layer, on every core: what analysis.h5 stores of them and their
/// summaries, under the main threshold and each threshold of the sweep. `RunAnalysis` analyses a layer block by block
/// so that its memory is one block's, whatever the layer's filters.
///
/// Each filter is normalized once; its binary matrix, clusters and measures follow for each threshold. The results are
/// those of `FilterAnalysis(raw:parameters:)` filter by filter (the same code), and the summaries under a threshold
/// are those of `LayerAnalysis.thresholdSweep`.
public struct FilterBlockAnalysis: Sendable {
    /// Filters n of the block and labels L.
    public let filters: Int, labelCount: Int
    /// n x L x L raw matrices (as given).
    public let raw: [Double]
    /// n x L x L binary matrices under the main threshold (0/1).
    public let binary: [UInt8]
    /// n normalization scales (`FilterAnalysis.scale`; 0 for a silent filter).
    public let scale: [Double]
    /// n x L cluster index of each label under the main threshold, -1 for none.
    public let clusterOfLabel: [Int32]
    /// n summaries under the main threshold.
    public let summaries: [FilterSummary]
    /// Per threshold of the sweep (in the order given), n summaries.
    public let sweep: [[FilterSummary]]

    /// Analyses `filters` raw matrices (`raw`: n x L x L row-major) under `parameters`, and under each of
    /// `thresholds` with the same normalization.
    public init(raw: [Double], filters n: Int, labelCount labels: Int, parameters: AnalysisParameters, thresholds: [Double]) {
        precondition(raw.count == n * labels * labels, "raw holds \(raw.count) values, expected \(n)x\(labels)x\(labels)")
        let cells = labels * labels
        let binary = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: n * cells)
        let clusterOfLabel = UnsafeMutableBufferPointer<Int32>.allocate(capacity: n * labels)
        let scale = UnsafeMutableBufferPointer<Double>.allocate(capacity: n)
        let summaries = UnsafeMutableBufferPointer<FilterSummary?>.allocate(capacity: n * (1 + thresholds.count))
        summaries.initialize(repeating: nil)
        defer {
            binary.deallocate()
            clusterOfLabel.deallocate()
            scale.deallocate()
            summaries.deinitialize().deallocate()
        }
        // Each filter writes only its own slots of the buffers.
        nonisolated(unsafe) let (binaryOut, clustersOut, scaleOut, summariesOut) = (binary, clusterOfLabel, scale, summaries)
        DispatchQueue.concurrentPerform(iterations: n) { k in
            let matrix = FilterLabelMatrix(labelCount: labels, values: Array(raw[(k * cells)..<((k + 1) * cells)]))
            let normalization = matrix.normalizedWithScale(parameters.normalization)
            let main = FilterAnalysis(raw: matrix, normalization: normalization, parameters: parameters)
            for index in 0..<cells { binaryOut[k * cells + index] = main.binary.values[index] }
            let assignment = main.clusterAssignment
            for label in 0..<labels { clustersOut[k * labels + label] = assignment[label] }
            scaleOut[k] = main.scale
            let summary = FilterSummary(main)
            summariesOut[k] = summary
            for (t, threshold) in thresholds.enumerated() {
                summariesOut[(1 + t) * n + k] = threshold == parameters.threshold ? summary
                    : FilterSummary(FilterAnalysis(raw: matrix, normalization: normalization,
                                                   parameters: AnalysisParameters(threshold: threshold, normalization: parameters.normalization)))
            }
        }
        filters = n
        labelCount = labels
        self.raw = raw
        self.binary = Array(binary)
        self.clusterOfLabel = Array(clusterOfLabel)
        self.scale = Array(scale)
        self.summaries = summaries[0..<n].map { $0! }
        sweep = thresholds.indices.map { t in summaries[((1 + t) * n)..<((2 + t) * n)].map { $0! } }
    }
}

import RunStore

/// The per-layer numbers of phase 3 (method.md), with the parameters they were computed under.
///
/// "Clustered filters" are the filters with at least one cluster. A mean over an empty set is NaN.
public struct LayerSummary: Sendable {
    /// The threshold and normalization used.
    public let parameters: AnalysisParameters
    /// Number of labels L.
    public let labelCount: Int
    /// Filters in the layer.
    public let filterCount: Int
    /// Silent filters (nothing positive to normalize by).
    public let silentCount: Int
    /// Non-silent filters with no cluster.
    public let noClusterCount: Int
    /// Filters with at least one cluster (filterCount - silentCount - noClusterCount).
    public let clusteredCount: Int
    /// Mean number of clusters per clustered filter.
    public let meanClustersPerFilter: Double
    /// Mean cluster size over all clusters of the layer (total clustered labels / total clusters), i.e. each
    /// cluster weighs the same, not each filter.
    public let meanClusterSize: Double
    /// Mean signal per clustered filter.
    public let meanSignal: Double
    /// Mean noise per clustered filter.
    public let meanNoise: Double
    /// SNR = meanSignal / meanNoise (`AnalysisParameters.snrDefinition`); +infinity when the mean noise is 0
    /// (the mean signal of clustered filters is then >= 1); NaN when no filter has a cluster.
    public let snr: Double
    /// SNR-i = mean over clustered filters of (sum of cluster sizes) / max(noise, 1); NaN when none.
    public let snrI: Double
    /// Mean number of bright input labels in the dominant column, over the non-silent filters.
    public let meanDominantBrightRows: Double
    /// Mean number of columns bright for more than half of the input labels, over the non-silent filters.
    public let meanMajorityBrightColumns: Double
    /// Mean of `dominantOnesRatio` over the non-silent filters whose ratio is finite.
    public let meanDominantOnesRatio: Double
    /// Non-silent filters whose `dominantOnesRatio` is +infinity (no ones outside the dominant column).
    public let infiniteDominantOnesRatioCount: Int
    /// Pooled ratio over non-silent filters: total dominant-column ones / total other ones (+infinity, NaN as
    /// for one filter).
    public let pooledDominantOnesRatio: Double
    /// Clusters of each size over the whole layer: element s - 1 counts the clusters of size s (length L).
    public let clusterSizeHistogram: [Int]
    /// Share of the non-silent filters whose dominant output label is j (length L; sums to 1 unless all silent).
    public let dominantLabelShare: [Double]
    /// Every `LayerColumns.phaseThree` value by column name (`Measures.perLayer`).
    public private(set) var values: [String: Double] = [:]

    /// The value of a declared phase 3 column (`LayerColumns.phaseThree`); NaN for a column not computed here.
    public func value(_ column: MeasureColumn) -> Double { values[column.name] ?? .nan }

    /// Fraction of the filters that are silent.
    public var silentFraction: Double { Double(silentCount) / Double(filterCount) }
    /// Fraction of the filters that are non-silent with no cluster.
    public var noClusterFraction: Double { Double(noClusterCount) / Double(filterCount) }

    /// Summarizes the analysed filters of one layer (all with the same label count, analysed under `parameters`).
    public init(filters: [FilterAnalysis], parameters: AnalysisParameters) {
        self.init(summaries: filters.map(FilterSummary.init), parameters: parameters)
    }

    /// Summarizes one layer from its filters' summaries (all with the same label count, analysed under `parameters`).
    public init(summaries filters: [FilterSummary], parameters: AnalysisParameters) {
        precondition(!filters.isEmpty, "a layer has at least one filter")
        let labels = filters[0].labelCount
        let groups = LayerFilters(filters)
        let (active, clustered) = (groups.active, groups.clustered)
        self.parameters = parameters
        labelCount = labels
        filterCount = filters.count
        silentCount = filters.count - active.count
        clusteredCount = clustered.count
        noClusterCount = active.count - clustered.count

        let totalClusters = clustered.reduce(0) { $0 + $1.clusterCount }
        let totalClusteredLabels = clustered.reduce(0) { $0 + $1.clusteredLabelCount }
        meanClustersPerFilter = Measures.mean(clustered.map { Double($0.clusterCount) })
        meanClusterSize = totalClusters > 0 ? Double(totalClusteredLabels) / Double(totalClusters) : .nan
        meanSignal = Measures.mean(clustered.map { Double($0.signal) })
        meanNoise = Measures.mean(clustered.map { Double($0.noise) })
        snr = Measures.ratio(meanSignal, meanNoise)
        snrI = Measures.mean(clustered.map { Double($0.clusteredLabelCount) / Double(max($0.noise, 1)) })

        meanDominantBrightRows = Measures.mean(active.map { Double($0.dominantBrightRows) })
        meanMajorityBrightColumns = Measures.mean(active.map { Double($0.majorityBrightColumns) })
        let ratios = active.map(\.dominantOnesRatio)
        meanDominantOnesRatio = Measures.mean(ratios.filter(\.isFinite))
        infiniteDominantOnesRatioCount = ratios.filter { $0 == .infinity }.count
        pooledDominantOnesRatio = Measures.ratio(Double(active.reduce(0) { $0 + $1.dominantOnes }),
                                             Double(active.reduce(0) { $0 + $1.otherOnes }))

        var histogram = [Int](repeating: 0, count: labels)
        for filter in filters {
            for cluster in filter.clusters { histogram[cluster.count - 1] += 1 }
        }
        clusterSizeHistogram = histogram
        var dominantCounts = [Int](repeating: 0, count: labels)
        for filter in active { dominantCounts[filter.dominantLabel] += 1 }
        dominantLabelShare = dominantCounts.map { active.isEmpty ? 0 : Double($0) / Double(active.count) }
        for (column, value) in Measures.perLayer { values[column.name] = value(self, groups) }
    }
}

/// Phase 3 for one layer: every filter's analysis and the layer summary.
public struct LayerAnalysis: Sendable {
    /// The threshold and normalization used.
    public let parameters: AnalysisParameters
    /// One analysis per filter, in filter order.
    public let filters: [FilterAnalysis]
    /// The per-layer numbers.
    public let summary: LayerSummary

    /// Analyses the raw filter-label matrices of one layer (one per filter, e.g. `FieldAccumulator.rawMatrices()`).
    public init(rawMatrices: [FilterLabelMatrix], parameters: AnalysisParameters = AnalysisParameters()) {
        self.parameters = parameters
        filters = rawMatrices.map { FilterAnalysis(raw: $0, parameters: parameters) }
        summary = LayerSummary(filters: filters, parameters: parameters)
    }

    /// The layer summary under each threshold, from the same raw matrices and normalization (in threshold order).
    public static func thresholdSweep(rawMatrices: [FilterLabelMatrix], thresholds: [Double],
                                      normalization: Normalization = .max) -> [LayerSummary] {
        thresholds.map {
            LayerAnalysis(rawMatrices: rawMatrices,
                          parameters: AnalysisParameters(threshold: $0, normalization: normalization)).summary
        }
    }

    /// Number of labels L.
    public var labelCount: Int { summary.labelCount }
    /// Raw matrices of all filters, C x L x L row-major (for storage).
    public var stackedRaw: [Double] { filters.flatMap(\.raw.values) }
    /// Normalized matrices of all filters, C x L x L row-major (zeros for silent filters).
    public var stackedNormalized: [Double] { filters.flatMap(\.normalized.values) }
    /// Binary matrices of all filters, C x L x L row-major, 0 or 1.
    public var stackedBinary: [UInt8] { filters.flatMap(\.binary.values) }
    /// Cluster index of each label per filter, C x L row-major, -1 for none.
    public var stackedClusterAssignment: [Int32] { filters.flatMap(\.clusterAssignment) }
}

import RunStore

/// The filters of one layer, grouped as the per-layer means take them (method.md).
public struct LayerFilters: Sendable {
    /// Every filter of the layer, in filter order.
    public let all: [FilterSummary]
    /// The non-silent filters.
    public let active: [FilterSummary]
    /// The filters with at least one cluster.
    public let clustered: [FilterSummary]

    init(_ filters: [FilterSummary]) {
        all = filters
        active = filters.filter { !$0.isSilent }
        clustered = active.filter { $0.clusterCount > 0 }
    }
}

/// How each declared measure column (RunStore's `FilterColumns` and `LayerColumns`) is computed: one entry per
/// column, the only place its value is defined.
public enum Measures {
    /// A per-filter value.
    public typealias FilterValue = @Sendable (FilterAnalysis) -> Double
    /// A per-layer value, from the layer summary's typed numbers or from the layer's filters.
    public typealias LayerValue = @Sendable (LayerSummary, LayerFilters) -> Double

    /// One entry per `FilterColumns.all` column, in its order.
    public static let perFilter: [(column: MeasureColumn, value: FilterValue)] = [
        (FilterColumns.clusterCount, { Double($0.clusterCount) }),
        (FilterColumns.signal, { Double($0.signal) }),
        (FilterColumns.noise, { Double($0.noise) }),
        (FilterColumns.noiseCluster, { filter in
            let cluster = filter.clusterAssignment
            var ones = 0
            for j in 0..<filter.labelCount where cluster[j] >= 0 {
                for i in 0..<filter.labelCount where filter.binary[i, j] && cluster[i] != cluster[j] { ones += 1 }
            }
            return Double(ones)
        }),
        (FilterColumns.noiseWithZeros, { $0.clusterCount > 0 ? Double($0.noise) : 0 }),
        (FilterColumns.silent, { $0.isSilent ? 1 : 0 }),
        (FilterColumns.dominantLabel, { Double($0.dominantLabel) }),
        (FilterColumns.dominantBrightRows, { Double($0.dominantBrightRows) }),
        (FilterColumns.majorityBrightColumns, { Double($0.majorityBrightColumns) }),
        (FilterColumns.dominantOnesRatio, { $0.dominantOnesRatio }),
    ]

    /// One entry per `LayerColumns.phaseThree` column, in its order.
    public static let perLayer: [(column: MeasureColumn, value: LayerValue)] = [
        (LayerColumns.filters, { s, _ in Double(s.filterCount) }),
        (LayerColumns.silentFraction, { s, _ in s.silentFraction }),
        (LayerColumns.noClusterFraction, { s, _ in s.noClusterFraction }),
        (LayerColumns.clustersPerFilter, { s, _ in s.meanClustersPerFilter }),
        (LayerColumns.meanClusterSize, { s, _ in s.meanClusterSize }),
        (LayerColumns.meanSignal, { s, _ in s.meanSignal }),
        (LayerColumns.meanNoise, { s, _ in s.meanNoise }),
        (LayerColumns.snr, { s, _ in s.snr }),
        (LayerColumns.snrI, { s, _ in s.snrI }),
        (LayerColumns.meanNoiseCluster, { _, f in mean(values(FilterColumns.noiseCluster, of: f.clustered)) }),
        (LayerColumns.snrCluster, { s, f in ratio(s.meanSignal, mean(values(FilterColumns.noiseCluster, of: f.clustered))) }),
        (LayerColumns.meanNoiseWithZeros, { _, f in mean(values(FilterColumns.noiseWithZeros, of: f.all)) }),
        (LayerColumns.snrWithZeros, { _, f in
            ratio(mean(values(FilterColumns.signal, of: f.all)), mean(values(FilterColumns.noiseWithZeros, of: f.all)))
        }),
        (LayerColumns.dominantBrightRows, { s, _ in s.meanDominantBrightRows }),
        (LayerColumns.majorityBrightColumns, { s, _ in s.meanMajorityBrightColumns }),
        (LayerColumns.dominantOnesRatio, { s, _ in s.meanDominantOnesRatio }),
        (LayerColumns.pooledDominantOnesRatio, { s, _ in s.pooledDominantOnesRatio }),
    ]

    /// The mean of `values`, NaN when empty.
    public static func mean(_ values: [Double]) -> Double {
        values.isEmpty ? .nan : values.reduce(0, +) / Double(values.count)
    }

    /// numerator / denominator, with x / 0 = +infinity for x > 0 and NaN for x = 0 or NaN operands.
    public static func ratio(_ numerator: Double, _ denominator: Double) -> Double {
        if denominator == 0 { return numerator > 0 ? .infinity : .nan }
        return numerator / denominator
    }

    /// The per-filter value of `column` over summarized `filters`, in filter order.
    public static func values(_ column: MeasureColumn, of filters: [FilterSummary]) -> [Double] {
        filters.map { $0.value(column) }
    }

    /// The per-filter value of `column` over `filters`, in filter order.
    public static func values(_ column: MeasureColumn, of filters: [FilterAnalysis]) -> [Double] {
        guard let entry = perFilter.first(where: { $0.column == column }) else {
            preconditionFailure("no per-filter measure \(column.name)")
        }
        return filters.map(entry.value)
    }
}

extension FilterAnalysis {
    /// The value of a declared per-filter column (`FilterColumns`).
    public func value(_ column: MeasureColumn) -> Double { Measures.values(column, of: [self])[0] }
}

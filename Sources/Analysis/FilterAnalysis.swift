import RunStore

/// Phase 3 for one filter: its matrices, clusters, signal, noise and single-label selection (method.md).
///
/// Definitions this module chose (see method.md for the rest):
/// - A silent filter has all-zero `normalized` and `binary` matrices, no clusters, signal = noise = 0,
///   `dominantLabel` -1, zero bright counts and a NaN `dominantOnesRatio`.
/// - The dominant output label is the column with the largest column mean of the **raw** matrix (ties: lowest
///   index). Under max normalization this is exactly the largest column mean of the normalized matrix (division
///   by a positive number keeps the order); under column-centred normalization every normalized column mean is 0
///   by construction, so the raw means are the only meaningful ones.
/// - `dominantOnesRatio` = ones in the dominant column / ones in all other columns; +infinity when the other
///   columns have no ones but the dominant column has some; NaN when the binary matrix has no ones at all.
public struct FilterAnalysis: Sendable {
    /// The raw filter-label matrix (mean output field per true label), L x L.
    public let raw: FilterLabelMatrix
    /// The normalized matrix, L x L (all zeros when silent).
    public let normalized: FilterLabelMatrix
    /// The binary matrix, normalized > threshold, L x L (all zeros when silent).
    public let binary: BinaryLabelMatrix
    /// Whether the filter is silent (nothing positive to normalize by).
    public let isSilent: Bool
    /// The greedy clusters, in the order found; each lists its labels in increasing order.
    public let clusters: [[Int]]
    /// signal = sum over clusters of size^2 (the ones inside the cluster squares).
    public let signal: Int
    /// noise = ones in the binary matrix - signal (the ones outside the cluster squares).
    public let noise: Int
    /// The dominant output label (see the type's notes), or -1 when silent.
    public let dominantLabel: Int
    /// Input labels bright (> threshold) in the dominant column.
    public let dominantBrightRows: Int
    /// Output columns bright for more than half of the input labels (ones in the column * 2 > L).
    public let majorityBrightColumns: Int
    /// Ones in the dominant column.
    public let dominantOnes: Int
    /// Ones in all columns except the dominant one.
    public let otherOnes: Int

    /// The number the raw matrix (centred, for column-centred normalization) was divided by to normalize it: its
    /// largest element; 0 for a silent filter.
    public let scale: Double

    /// Analyses one filter's raw matrix under `parameters`.
    public init(raw: FilterLabelMatrix, parameters: AnalysisParameters) {
        self.init(raw: raw, normalization: raw.normalizedWithScale(parameters.normalization), parameters: parameters)
    }

    /// Analyses one filter's raw matrix under `parameters`, given its normalization (`raw.normalizedWithScale`,
    /// nil when silent) made once for several thresholds.
    public init(raw: FilterLabelMatrix, normalization: (matrix: FilterLabelMatrix, scale: Double)?, parameters: AnalysisParameters) {
        let labels = raw.labelCount
        self.raw = raw
        guard let normalization else {
            self.scale = 0
            self.normalized = .zeros(labelCount: labels)
            binary = .zeros(labelCount: labels)
            isSilent = true
            clusters = []
            signal = 0
            noise = 0
            dominantLabel = -1
            dominantBrightRows = 0
            majorityBrightColumns = 0
            dominantOnes = 0
            otherOnes = 0
            return
        }
        let normalized = normalization.matrix
        self.normalized = normalized
        scale = normalization.scale
        let binary = normalized.binarized(threshold: parameters.threshold)
        self.binary = binary
        isSilent = false
        clusters = binary.greedyClusters()
        signal = clusters.reduce(0) { $0 + $1.count * $1.count }
        let ones = binary.ones
        noise = ones - signal
        dominantLabel = raw.columnOfLargestMean
        dominantBrightRows = binary.onesInColumn(dominantLabel)
        majorityBrightColumns = (0..<labels).filter { 2 * binary.onesInColumn($0) > labels }.count
        dominantOnes = dominantBrightRows
        otherOnes = ones - dominantOnes
    }

    /// Number of labels L.
    public var labelCount: Int { raw.labelCount }
    /// Number of clusters.
    public var clusterCount: Int { clusters.count }
    /// Ones in the binary matrix (signal + noise).
    public var ones: Int { signal + noise }
    /// Sum of the cluster sizes (labels that belong to a cluster).
    public var clusteredLabelCount: Int { clusters.reduce(0) { $0 + $1.count } }

    /// Cluster index (in the order found) of each label, -1 for a label in no cluster; length L.
    public var clusterAssignment: [Int32] {
        var assignment = [Int32](repeating: -1, count: labelCount)
        for (index, cluster) in clusters.enumerated() {
            for label in cluster { assignment[label] = Int32(index) }
        }
        return assignment
    }

    /// Ones in the dominant column over ones in all other columns (see the type's notes for 0 denominators).
    public var dominantOnesRatio: Double {
        if otherOnes > 0 { return Double(dominantOnes) / Double(otherOnes) }
        return dominantOnes > 0 ? .infinity : .nan
    }
}

/// One filter's results without its matrices (`FilterAnalysis` less raw, normalized and binary): what the per-layer
/// numbers and the per-filter columns need, small enough to keep for every filter of a layer at 1,000 labels.
public struct FilterSummary: Sendable {
    /// Number of labels L.
    public let labelCount: Int
    /// Whether the filter is silent.
    public let isSilent: Bool
    /// The greedy clusters, in the order found.
    public let clusters: [[Int]]
    /// As `FilterAnalysis`.
    public let signal: Int, noise: Int, dominantLabel: Int, dominantBrightRows: Int, majorityBrightColumns: Int
    /// As `FilterAnalysis`.
    public let dominantOnes: Int, otherOnes: Int
    /// The value of every `FilterColumns.all` column, in its order (`Measures.perFilter`).
    public let columnValues: [Double]

    /// The summary of an analysed filter.
    public init(_ filter: FilterAnalysis) {
        labelCount = filter.labelCount
        isSilent = filter.isSilent
        clusters = filter.clusters
        signal = filter.signal
        noise = filter.noise
        dominantLabel = filter.dominantLabel
        dominantBrightRows = filter.dominantBrightRows
        majorityBrightColumns = filter.majorityBrightColumns
        dominantOnes = filter.dominantOnes
        otherOnes = filter.otherOnes
        columnValues = Measures.perFilter.map { $0.value(filter) }
    }

    /// Number of clusters.
    public var clusterCount: Int { clusters.count }
    /// Sum of the cluster sizes.
    public var clusteredLabelCount: Int { clusters.reduce(0) { $0 + $1.count } }
    /// As `FilterAnalysis.dominantOnesRatio`.
    public var dominantOnesRatio: Double {
        if otherOnes > 0 { return Double(dominantOnes) / Double(otherOnes) }
        return dominantOnes > 0 ? .infinity : .nan
    }
    /// The value of a declared per-filter column (`FilterColumns`).
    public func value(_ column: MeasureColumn) -> Double {
        guard let index = FilterColumns.all.firstIndex(of: column) else { preconditionFailure("no per-filter measure \(column.name)") }
        return columnValues[index]
    }
}

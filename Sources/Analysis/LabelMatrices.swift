import RunStore

/// A labels x labels real matrix of one filter: rows are input (true) labels i, columns output labels j.
///
/// `values` is row-major: element (i, j) is `values[i * labelCount + j]`. Used for the raw filter-label matrix
/// (mean output field per true label, in the head's output units) and for its normalized form (dimensionless).
public struct FilterLabelMatrix: Sendable, Equatable {
    /// Number of labels L; the matrix is L x L.
    public let labelCount: Int
    /// The L * L elements, row-major.
    public let values: [Double]

    /// A matrix from its row-major elements (`values.count == labelCount * labelCount`).
    public init(labelCount: Int, values: [Double]) {
        precondition(labelCount > 0 && values.count == labelCount * labelCount, "expected \(labelCount)^2 values")
        self.labelCount = labelCount
        self.values = values
    }

    /// A matrix from its rows (as many rows as columns).
    public init(rows: [[Double]]) {
        self.init(labelCount: rows.count, values: rows.flatMap { $0 })
    }

    /// The all-zero L x L matrix.
    public static func zeros(labelCount: Int) -> FilterLabelMatrix {
        FilterLabelMatrix(labelCount: labelCount, values: [Double](repeating: 0, count: labelCount * labelCount))
    }

    /// Element (input label i, output label j).
    public subscript(i: Int, j: Int) -> Double { values[i * labelCount + j] }

    /// The mean of each output column j over the input labels i (length L).
    public var columnMeans: [Double] {
        var sums = [Double](repeating: 0, count: labelCount)
        for (index, value) in values.enumerated() { sums[index % labelCount] += value }
        return sums.map { $0 / Double(labelCount) }
    }

    /// The index of the largest column mean; ties go to the lowest index.
    public var columnOfLargestMean: Int {
        let means = columnMeans
        var best = 0
        for j in 1..<labelCount where means[j] > means[best] { best = j }
        return best
    }

    /// The normalized matrix, or nil when the filter is silent: its largest element (after centring, for
    /// `.columnCentred`) is not positive.
    public func normalized(_ normalization: Normalization) -> FilterLabelMatrix? {
        normalizedWithScale(normalization)?.matrix
    }

    /// The normalized matrix and the number it was divided by (its largest element after centring, > 0), or nil
    /// when the filter is silent. analysis.h5 (layout version 3) stores the scale instead of the normalized matrix.
    public func normalizedWithScale(_ normalization: Normalization) -> (matrix: FilterLabelMatrix, scale: Double)? {
        var shifted = values
        let labels = labelCount
        if normalization == .columnCentred {
            shifted.withUnsafeMutableBufferPointer { MatrixNormalization.centreColumns($0, labelCount: labels) }
        }
        guard let largest = shifted.max(), largest > 0 else { return nil }
        shifted.withUnsafeMutableBufferPointer {
            MatrixNormalization.apply($0, labelCount: labels, columnCentred: false, scale: largest)
        }
        return (FilterLabelMatrix(labelCount: labelCount, values: shifted), largest)
    }

    /// The binary matrix: 1 where the element is strictly greater than `threshold` (an element equal to it is 0).
    public func binarized(threshold: Double) -> BinaryLabelMatrix {
        BinaryLabelMatrix(labelCount: labelCount, values: values.map { $0 > threshold ? 1 : 0 })
    }
}

/// A labels x labels 0/1 matrix of one filter (rows input labels, columns output labels), row-major `UInt8`.
public struct BinaryLabelMatrix: Sendable, Equatable {
    /// Number of labels L; the matrix is L x L.
    public let labelCount: Int
    /// The L * L elements (0 or 1), row-major.
    public let values: [UInt8]

    /// A matrix from its row-major 0/1 elements (`values.count == labelCount * labelCount`).
    public init(labelCount: Int, values: [UInt8]) {
        precondition(labelCount > 0 && values.count == labelCount * labelCount, "expected \(labelCount)^2 values")
        precondition(values.allSatisfy { $0 <= 1 }, "binary values must be 0 or 1")
        self.labelCount = labelCount
        self.values = values
    }

    /// A matrix from its rows of 0/1 integers (as many rows as columns).
    public init(rows: [[Int]]) {
        self.init(labelCount: rows.count, values: rows.flatMap { $0.map { UInt8($0) } })
    }

    /// The all-zero L x L matrix.
    public static func zeros(labelCount: Int) -> BinaryLabelMatrix {
        BinaryLabelMatrix(labelCount: labelCount, values: [UInt8](repeating: 0, count: labelCount * labelCount))
    }

    /// Whether element (input label i, output label j) is 1.
    public subscript(i: Int, j: Int) -> Bool { values[i * labelCount + j] != 0 }

    /// The number of ones in the matrix.
    public var ones: Int { values.reduce(0) { $0 + Int($1) } }

    /// The number of ones in output column j (the bright input labels of that column).
    public func onesInColumn(_ j: Int) -> Int { (0..<labelCount).reduce(0) { $0 + (self[$1, j] ? 1 : 0) } }

    /// The clusters of method.md, greedy in label order; each cluster lists its labels in increasing order.
    ///
    /// Candidates are the labels i with B[i, i] = 1. The first remaining candidate opens a cluster; the other
    /// remaining candidates are scanned in order and c joins when B[a, b] = 1 for all a, b in the cluster plus c
    /// (both directions). The cluster's labels leave the candidates; this repeats until none remain.
    public func greedyClusters() -> [[Int]] {
        var candidates = (0..<labelCount).filter { self[$0, $0] }
        var clusters: [[Int]] = []
        while let first = candidates.first {
            var cluster = [first]
            for c in candidates.dropFirst() where cluster.allSatisfy({ self[$0, c] && self[c, $0] }) {
                cluster.append(c)
            }
            candidates.removeAll { cluster.contains($0) }
            clusters.append(cluster)
        }
        return clusters
    }
}

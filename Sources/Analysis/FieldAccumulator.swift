import BLAS

/// One layer's per-label sums of output fields: all phase 3 needs of the test set.
///
/// `sums[(i * C + f) * L + j]` is the sum of field_f(k, j) over the test images k of true label i (L labels, C
/// filters: labels x C x labels, [true label i][filter f][output label j], as `fields.h5` stores it), and
/// `countsPerLabel[i]` the number of those images. A `FieldAccumulator` builds one from activations; `fields.h5`
/// (filterlens-torch) holds one per layer; both reach the filter-label matrices through `rawMatrices()`.
public struct FieldSums: Sendable, Equatable {
    /// Number of labels L (output labels of the head, and true labels of the images).
    public let labelCount: Int
    /// Filters (channels) C of the layer.
    public let channels: Int
    /// labels x C x labels, [true label i][filter f][output label j], row-major.
    public internal(set) var sums: [Double]
    /// Images per true label (length L).
    public internal(set) var countsPerLabel: [Int]

    /// Zero sums and counts.
    public init(labelCount: Int, channels: Int) {
        self.init(labelCount: labelCount, channels: channels,
                  sums: [Double](repeating: 0, count: labelCount * channels * labelCount),
                  countsPerLabel: [Int](repeating: 0, count: labelCount))
    }

    /// Stored sums (labels x C x labels) and counts (length L).
    public init(labelCount: Int, channels: Int, sums: [Double], countsPerLabel: [Int]) {
        precondition(labelCount > 0 && channels > 0, "dimensions must be positive")
        precondition(sums.count == labelCount * channels * labelCount,
                     "sums hold \(sums.count) values, expected \(labelCount)x\(channels)x\(labelCount)")
        precondition(countsPerLabel.count == labelCount, "counts hold \(countsPerLabel.count) labels, expected \(labelCount)")
        self.labelCount = labelCount
        self.channels = channels
        self.sums = sums
        self.countsPerLabel = countsPerLabel
    }

    /// The raw filter-label matrices, one per filter (C of them): element (i, j) is the mean of field_f(k, j) over
    /// the images k of true label i. A label with no images gives a row of zeros.
    public func rawMatrices() -> [FilterLabelMatrix] {
        (0..<channels).map { f in
            var values = [Double](repeating: 0, count: labelCount * labelCount)
            for i in 0..<labelCount where countsPerLabel[i] > 0 {
                let base = (i * channels + f) * labelCount
                for j in 0..<labelCount { values[i * labelCount + j] = sums[base + j] / Double(countsPerLabel[i]) }
            }
            return FilterLabelMatrix(labelCount: labelCount, values: values)
        }
    }
}

extension FieldSums {
    /// The raw matrices of the n filters `filters`, n x L x L row-major ([filter][input label i][output label j]):
    /// `rawMatrices()` for a block of filters, without building the others.
    public func rawBlock(filters: Range<Int>) -> [Double] {
        Self.rawBlock(sums: sums, sumsFilters: channels, firstFilter: filters.lowerBound, filters: filters.count,
                      countsPerLabel: countsPerLabel)
    }

    /// The raw matrices (n x L x L) of n filters from sums laid out L x `sumsFilters` x L whose filter
    /// `firstFilter` is the block's first: element (i, j) of a filter is its sum over the images of true label i
    /// divided by their count (a row of zeros for a label with no images), as `rawMatrices()`.
    public static func rawBlock(sums: [Double], sumsFilters: Int, firstFilter: Int, filters n: Int, countsPerLabel: [Int]) -> [Double] {
        let labels = countsPerLabel.count
        var values = [Double](repeating: 0, count: n * labels * labels)
        for k in 0..<n {
            for i in 0..<labels where countsPerLabel[i] > 0 {
                let base = (i * sumsFilters + firstFilter + k) * labels
                let row = (k * labels + i) * labels
                for j in 0..<labels { values[row + j] = sums[base + j] / Double(countsPerLabel[i]) }
            }
        }
        return values
    }
}

/// Streams one layer's block outputs through its trained head and accumulates the filter-label matrices.
///
/// Head weights W are labels x C x H x W, row-major (the head's labels x C*H*W matrix reshaped). For image k
/// with block output a_k (C x H x W), the output field of filter f on output label j is
/// field_f(k, j) = sum over h, w of W[j, f, h, w] * a_k[f, h, w]. The accumulator keeps, per true label i,
/// filter f and output label j, the sum of field_f(k, j) over the images k of label i (in Double), and the
/// number of images per label: a `FieldSums`.
///
/// Each batch costs one `sgemm` per filter (batch x HW times HW x labels, read in place through strides),
/// then one pass that adds each image's C x labels fields into the row of its true label.
public final class FieldAccumulator {
    /// Number of labels L (output labels of the head, and true labels of the images).
    public let labelCount: Int
    /// Filters (channels) C of the layer.
    public let channels: Int
    /// Height H of the block output.
    public let height: Int
    /// Width W of the block output.
    public let width: Int

    private let weights: [Float]
    /// The sums so far: labels x C x labels, [true label i][filter f][output label j], and images per label.
    public private(set) var fieldSums: FieldSums
    /// Images seen per true label (length L).
    public var countsPerLabel: [Int] { fieldSums.countsPerLabel }
    /// Scratch fields of one batch, batch x C x labels.
    private var fields: [Float] = []

    /// An empty accumulator for head weights `weights` (labels x channels x height x width, row-major).
    public init(weights: [Float], labelCount: Int, channels: Int, height: Int, width: Int) {
        precondition(labelCount > 0 && channels > 0 && height > 0 && width > 0, "dimensions must be positive")
        precondition(weights.count == labelCount * channels * height * width,
                     "weights hold \(weights.count) values, expected \(labelCount)x\(channels)x\(height)x\(width)")
        self.labelCount = labelCount
        self.channels = channels
        self.height = height
        self.width = width
        self.weights = weights
        self.fieldSums = FieldSums(labelCount: labelCount, channels: channels)
    }

    /// Total number of images added so far.
    public var imageCount: Int { countsPerLabel.reduce(0, +) }

    /// Adds a batch: `activations` is batch x C x H x W (row-major), `labels` holds the batch's true labels in 0..<L.
    public func add(activations: UnsafePointer<Float>, labels: UnsafePointer<Int32>, batch: Int) {
        guard batch > 0 else { return }
        let plane = height * width
        let imageStride = channels * plane
        let fieldsPerImage = channels * labelCount
        if fields.count < batch * fieldsPerImage { fields = [Float](repeating: 0, count: batch * fieldsPerImage) }
        weights.withUnsafeBufferPointer { w in
            fields.withUnsafeMutableBufferPointer { out in
                for f in 0..<channels {
                    // fields[k, f, j] = sum_p activations[k, f, p] * weights[j, f, p]
                    BLAS.sgemm(.none, .transposed, m: batch, n: labelCount, k: plane,
                               a: activations + f * plane, lda: imageStride,
                               b: w.baseAddress! + f * plane, ldb: imageStride,
                               c: out.baseAddress! + f * labelCount, ldc: fieldsPerImage)
                }
            }
        }
        for k in 0..<batch {
            let label = Int(labels[k])
            precondition(label >= 0 && label < labelCount, "label \(label) outside 0..<\(labelCount)")
            fieldSums.countsPerLabel[label] += 1
        }
        fields.withUnsafeBufferPointer { out in
            fieldSums.sums.withUnsafeMutableBufferPointer { sum in
                for k in 0..<batch {
                    let label = Int(labels[k])
                    let row = sum.baseAddress! + label * fieldsPerImage
                    let source = out.baseAddress! + k * fieldsPerImage
                    for t in 0..<fieldsPerImage { row[t] += Double(source[t]) }
                }
            }
        }
    }

    /// Adds a batch held in arrays (`activations.count == labels.count * C * H * W`).
    public func add(activations: [Float], labels: [Int32]) {
        precondition(activations.count == labels.count * channels * height * width, "activations do not match labels")
        activations.withUnsafeBufferPointer { a in
            labels.withUnsafeBufferPointer { y in
                add(activations: a.baseAddress!, labels: y.baseAddress!, batch: labels.count)
            }
        }
    }

    /// The raw filter-label matrices, one per filter (C of them): `fieldSums.rawMatrices()`.
    public func rawMatrices() -> [FilterLabelMatrix] {
        fieldSums.rawMatrices()
    }
}

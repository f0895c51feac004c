import BLAS
import RunStore

/// Streams one layer's block outputs and keeps, per filter, the k test images whose spatially averaged output is
/// largest: the mean over H x W of a_k[f, h, w] for image k and filter f (`TopImageRecord.definition`).
///
/// Memory is F x k whatever the number of images; each batch costs one pass over its values (one matrix-vector
/// product through OpenBLAS) and, per image and filter, one comparison with the filter's k-th value. Images are ranked by value, largest first; at equal values the earlier image ranks first.
public final class TopImagesAccumulator {
    /// Filters (channels) C.
    public let channels: Int
    /// H * W of one filter's output.
    public let plane: Int
    /// Images kept per filter (k).
    public let count: Int
    /// Per filter, the kept images' values (descending) and indices, up to k each.
    private var values: [[Double]]
    private var indices: [[Int64]]
    private var labels: [[Int32]]
    /// Scratch: the batch's spatial means, batch x C.
    private var means: [Float] = []
    /// 1 / (H * W), H * W times: the sgemm that averages every filter's plane.
    private let averaging: [Float]

    /// An empty accumulator for block outputs of `channels` x `height` x `width`, keeping `count` images a filter.
    public init(channels: Int, height: Int, width: Int, count: Int) {
        precondition(channels > 0 && height > 0 && width > 0, "dimensions must be positive")
        precondition(count > 0, "keep at least one image per filter")
        self.channels = channels
        self.plane = height * width
        self.count = count
        averaging = [Float](repeating: 1 / Float(height * width), count: height * width)
        values = Array(repeating: [], count: channels)
        indices = Array(repeating: [], count: channels)
        labels = Array(repeating: [], count: channels)
        for f in 0..<channels {
            values[f].reserveCapacity(count + 1)
            indices[f].reserveCapacity(count + 1)
            labels[f].reserveCapacity(count + 1)
        }
    }

    /// Adds a batch: `activations` is batch x C x H x W (row-major), image b of it being test image `firstImage + b`
    /// with true label `labels[b]`.
    public func add(activations: UnsafePointer<Float>, labels batchLabels: UnsafePointer<Int32>, firstImage: Int, batch: Int) {
        guard batch > 0 else { return }
        if means.count < batch * channels { means = [Float](repeating: 0, count: batch * channels) }
        // means[b, f] = sum_p activations[b, f, p] / (H * W): one (batch * C) x HW times HW x 1 product.
        averaging.withUnsafeBufferPointer { weights in
            means.withUnsafeMutableBufferPointer { out in
                BLAS.sgemm(m: batch * channels, n: 1, k: plane, a: activations, lda: plane, b: weights.baseAddress!, ldb: 1,
                           c: out.baseAddress!, ldc: 1)
            }
        }
        for f in 0..<channels {
            for b in 0..<batch {
                insert(Double(means[b * channels + f]), image: Int64(firstImage + b), label: batchLabels[b], filter: f)
            }
        }
    }

    /// Adds a batch held in arrays (`activations.count == labels.count * C * H * W`).
    public func add(activations: [Float], labels: [Int32], firstImage: Int) {
        precondition(activations.count == labels.count * channels * plane, "activations must hold one image per label")
        activations.withUnsafeBufferPointer { a in
            labels.withUnsafeBufferPointer { y in
                add(activations: a.baseAddress!, labels: y.baseAddress!, firstImage: firstImage, batch: labels.count)
            }
        }
    }

    private func insert(_ value: Double, image: Int64, label: Int32, filter f: Int) {
        guard value.isFinite else { return }
        if values[f].count == count {
            guard value > values[f][count - 1] else { return }
            values[f].removeLast()
            indices[f].removeLast()
            labels[f].removeLast()
        }
        var position = values[f].count
        while position > 0 && values[f][position - 1] < value { position -= 1 }
        values[f].insert(value, at: position)
        indices[f].insert(image, at: position)
        labels[f].insert(label, at: position)
    }

    /// The images kept so far: F x k, padded with -1 (and NaN values) where fewer than k images were seen.
    public var record: TopImageRecord {
        var flatIndices = [Int64](repeating: -1, count: channels * count)
        var flatValues = [Double](repeating: .nan, count: channels * count)
        var flatLabels = [Int32](repeating: -1, count: channels * count)
        for f in 0..<channels {
            for (rank, index) in indices[f].enumerated() {
                flatIndices[f * count + rank] = index
                flatValues[f * count + rank] = values[f][rank]
                flatLabels[f * count + rank] = labels[f][rank]
            }
        }
        return TopImageRecord(filters: channels, count: count, indices: flatIndices, values: flatValues, labels: flatLabels)
    }
}

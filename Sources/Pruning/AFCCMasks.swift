import Tensor
import Training

/// The clusters of one layer's filters, as phase 3 found them (`analysis.h5`, `/layers/layerNN/cluster_of_label`).
public struct FilterClusters: Equatable, Sendable {
    /// Filters F of the layer.
    public let filterCount: Int
    /// Labels L.
    public let labelCount: Int
    /// F x L, row-major: the cluster index (0-based) of label j for filter f, -1 when label j is in no cluster.
    public let clusterOfLabel: [Int32]

    public init(filterCount: Int, labelCount: Int, clusterOfLabel: [Int32]) {
        precondition(clusterOfLabel.count == filterCount * labelCount, "cluster_of_label must be F x L")
        self.filterCount = filterCount
        self.labelCount = labelCount
        self.clusterOfLabel = clusterOfLabel
    }

    /// The labels of filter `filter`'s clusters (the union of its clusters), ascending; empty for a filter with no
    /// cluster (a silent one included).
    public func labels(of filter: Int) -> [Int] {
        (0..<labelCount).filter { clusterOfLabel[filter * labelCount + $0] >= 0 }
    }

    /// The sizes of filter `filter`'s clusters, by cluster index (index k: the labels whose entry is k).
    public func clusterSizes(of filter: Int) -> [Int] {
        let row = clusterOfLabel[(filter * labelCount)..<((filter + 1) * labelCount)]
        let count = Int(row.max() ?? -1) + 1
        var sizes = [Int](repeating: 0, count: max(count, 0))
        for index in row where index >= 0 { sizes[Int(index)] += 1 }
        return sizes
    }

    /// Filters with no cluster.
    public var filtersWithoutCluster: Int { (0..<filterCount).filter { labels(of: $0).isEmpty }.count }

    /// Random clusters of the same sizes: for every filter, a seeded random permutation of the labels is cut into
    /// clusters of the filter's own sizes (cluster 0 takes the first s_0 labels, cluster 1 the next s_1, ...).
    /// A filter keeps exactly as many cluster labels as it had; one with no cluster keeps none. Filter f draws from
    /// its own stream of `seed` (`SeedStream.controlClustersOfFilter`), so the result does not depend on the other filters.
    public func randomized(seed: UInt64) -> FilterClusters {
        var result = [Int32](repeating: -1, count: clusterOfLabel.count)
        for filter in 0..<filterCount {
            var generator = SeededGenerator(seed: seed, stream: SeedStream.controlClustersOfFilter(filter))
            let order = Array(0..<labelCount).shuffled(using: &generator)
            var position = 0
            for (cluster, size) in clusterSizes(of: filter).enumerated() {
                for label in order[position..<(position + size)] { result[filter * labelCount + label] = Int32(cluster) }
                position += size
            }
        }
        return FilterClusters(filterCount: filterCount, labelCount: labelCount, clusterOfLabel: result)
    }
}

/// A 0/1 keep-mask of one weight tensor (or of its kernels): 1 = kept, 0 = pruned (held at exactly zero).
public struct WeightMask: Equatable, Sendable {
    /// Row-major shape of `keep`, e.g. [labels, C*H*W] for a head, [F_out, F_in] for a convolution's kernels.
    public let shape: [Int]
    /// HDF5 dimension names, one per axis of `shape`.
    public let dimensionLabels: [String]
    /// 1 = kept, 0 = pruned; product of `shape` entries.
    public var keep: [UInt8]
    /// Weights of the tensor each entry stands for: 1 for a head weight, 9 for a 3x3 kernel.
    public let weightsPerEntry: Int

    public init(shape: [Int], dimensionLabels: [String], keep: [UInt8], weightsPerEntry: Int) {
        precondition(keep.count == shape.reduce(1, *) && dimensionLabels.count == shape.count, "mask shape mismatch")
        self.shape = shape
        self.dimensionLabels = dimensionLabels
        self.keep = keep
        self.weightsPerEntry = weightsPerEntry
    }

    /// Weights kept.
    public var keptWeights: Int { keep.reduce(0) { $0 + Int($1) } * weightsPerEntry }
    /// Weights the mask considers (kept or pruned).
    public var consideredWeights: Int { keep.count * weightsPerEntry }
    /// Entries kept in row `row` (the first axis): per output label of a head, per output filter of a convolution.
    public func keptInRow(_ row: Int) -> Int {
        let width = keep.count / shape[0]
        return keep[(row * width)..<((row + 1) * width)].reduce(0) { $0 + Int($1) }
    }
}

/// Applied filter cluster connections [L2]: the keep-masks that follow phase 3's clusters.
public enum AFCC {
    /// The mask of layer l's phase 2 head (L x C*H*W, feature index (c * H + h) * W + w, as in probe.h5): the weight
    /// from feature (f, h, w) to output label j is kept when j is in one of filter f's clusters. A filter with no
    /// cluster keeps none of its head weights (its output no longer reaches the labels).
    public static func headMask(_ clusters: FilterClusters, height: Int, width: Int) -> WeightMask {
        let (f, l, plane) = (clusters.filterCount, clusters.labelCount, height * width)
        var keep = [UInt8](repeating: 0, count: l * f * plane)
        for filter in 0..<f {
            for label in clusters.labels(of: filter) {
                let start = label * f * plane + filter * plane
                for index in start..<(start + plane) { keep[index] = 1 }
            }
        }
        return WeightMask(shape: [l, f * plane], dimensionLabels: ["output_label", "feature"], keep: keep, weightsPerEntry: 1)
    }

    /// The kernel mask of convolution l+1 (F_out x F_in; entry (b, a) stands for the 3 x 3 kernel from input channel
    /// a, filter a of layer l, to filter b of layer l+1): kept when the label sets (unions of clusters) of a and b
    /// share a label. A filter with no cluster, on either side, keeps none of these connections.
    public static func convolutionMask(input: FilterClusters, output: FilterClusters) -> WeightMask {
        precondition(input.labelCount == output.labelCount, "both layers need the same labels")
        let inputSets = (0..<input.filterCount).map { Set(input.labels(of: $0)) }
        var keep = [UInt8](repeating: 0, count: output.filterCount * input.filterCount)
        for b in 0..<output.filterCount {
            let labels = output.labels(of: b)
            for a in 0..<input.filterCount where labels.contains(where: inputSets[a].contains) {
                keep[b * input.filterCount + a] = 1
            }
        }
        return WeightMask(shape: [output.filterCount, input.filterCount], dimensionLabels: ["filter", "input_channel"],
                          keep: keep, weightsPerEntry: 9)
    }

    /// A degree-preserving random rewiring of a convolution kernel mask (the control between convolutional layers):
    /// every output filter keeps as many input channels, and every input channel feeds as many output filters, as in
    /// `mask`, but which ones is random. Double-edge swaps (b1, a1), (b2, a2) -> (b1, a2), (b2, a1), each made only
    /// when both new entries are pruned in the current mask; `swapsPerEntry` x kept entries attempts, drawn from `seed`.
    /// A nearly full (or nearly empty) mask admits few swaps and stays close to the original: there is little room.
    public static func rewired(_ mask: WeightMask, seed: UInt64, swapsPerEntry: Int = 10) -> WeightMask {
        precondition(mask.shape.count == 2, "a kernel mask is F_out x F_in")
        let (rows, columns) = (mask.shape[0], mask.shape[1])
        var keep = mask.keep
        var edges: [(Int, Int)] = []
        for b in 0..<rows { for a in 0..<columns where keep[b * columns + a] == 1 { edges.append((b, a)) } }
        guard edges.count >= 2 else { return mask }
        var generator = SeededGenerator(seed: seed, stream: SeedStream.controlRewiring)
        for _ in 0..<(swapsPerEntry * edges.count) {
            let i = Int(generator.next() % UInt64(edges.count)), j = Int(generator.next() % UInt64(edges.count))
            let (b1, a1) = edges[i], (b2, a2) = edges[j]
            guard b1 != b2, a1 != a2, keep[b1 * columns + a2] == 0, keep[b2 * columns + a1] == 0 else { continue }
            keep[b1 * columns + a1] = 0
            keep[b2 * columns + a2] = 0
            keep[b1 * columns + a2] = 1
            keep[b2 * columns + a1] = 1
            edges[i] = (b1, a2)
            edges[j] = (b2, a1)
        }
        return WeightMask(shape: mask.shape, dimensionLabels: mask.dimensionLabels, keep: keep,
                          weightsPerEntry: mask.weightsPerEntry)
    }
}

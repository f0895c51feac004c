import Dispatch
import RunStore
import Tensor

/// Throughput of phase 3's computation on synthetic data, layer by layer, through the code `RunAnalysis` runs:
/// a `FieldAccumulator` streams `images` block outputs (C x H x W each) through a labels x C*H*W head in batches,
/// then `FilterBlockAnalysis` builds the filter-label matrices, analyses every filter and sweeps the thresholds, a block
/// of filters at a time as `RunAnalysis` does, and a `TopImagesAccumulator` ranks every filter's top images over the same batches.
/// Reading (and decompressing) `activations.h5` is not included: it is the disk's and zlib's share of phase 3.
///
/// Activations are ReLU outputs of seeded uniform values (about half are 0), head weights seeded uniform in
/// +-1/sqrt(C*H*W), labels seeded uniform; one batch of activations is generated and streamed repeatedly, as
/// `RunAnalysis` reuses one read buffer.
public struct AnalysisBenchmark: Sendable {
    /// One layer's timings.
    public struct Layer: Sendable {
        /// 1-based layer number, in the order the shapes were given.
        public var layer: Int
        /// Block output shape C x H x W.
        public var shape: BlockShape
        /// Number of labels L (head outputs and true labels).
        public var labelCount: Int
        /// Images streamed per timed iteration.
        public var images: Int
        /// Images the accumulator counted in the last iteration (equals `images`).
        public var imagesAccumulated: Int
        /// Filters analysed in the last iteration (equals `shape.channels`).
        public var filtersAnalyzed: Int
        /// Seconds of the accumulation (all batches) per timed iteration.
        public var accumulationSeconds: [Double]
        /// Seconds of the filter-label matrices, their analysis and the threshold sweep per timed iteration.
        public var matricesSeconds: [Double]
        /// Seconds of ranking every filter's top images (`TopImagesAccumulator`, k = `TopImageRecord.defaultCount`)
        /// over the same batches per timed iteration.
        public var topImagesSeconds: [Double] = []

        /// FLOP of the accumulation per image: 2 * L * C*H*W (the per-filter sgemms; the Double sums add C*L).
        public var flopsPerImage: Double { 2 * Double(labelCount) * Double(shape.count) }
        /// Median seconds of a whole iteration (accumulation + matrices + top images).
        public var seconds: Double {
            AnalysisBenchmark.median(zip(zip(accumulationSeconds, matricesSeconds), topImagesSeconds).map { $0.0 + $0.1 + $1 })
        }
        /// Median seconds of the top images part of an iteration.
        public var topImagesMedianSeconds: Double { AnalysisBenchmark.median(topImagesSeconds) }
        /// Median seconds of the matrices part of an iteration.
        public var matricesMedianSeconds: Double { AnalysisBenchmark.median(matricesSeconds) }
        /// Images per second through this layer's analysis (median iteration).
        public var imagesPerSecond: Double { Double(images) / seconds }
        /// GFLOP/s of the accumulation FLOP over the whole iteration's median time.
        public var gflops: Double { Double(images) * flopsPerImage / seconds / 1e9 }
    }

    /// Per layer, in the order the shapes were given.
    public var layers: [Layer]
    /// Images streamed through each layer per timed iteration.
    public var images: Int

    /// Images per second through every layer's analysis one after the other: images / the sum of the layers'
    /// median seconds (what phase 3 of a run with these layers computes, reading aside).
    public var imagesPerSecond: Double { Double(images) / layers.reduce(0) { $0 + $1.seconds } }
    /// Accumulation GFLOP/s over all layers.
    public var gflops: Double {
        Double(images) * layers.reduce(0) { $0 + $1.flopsPerImage } / layers.reduce(0) { $0 + $1.seconds } / 1e9
    }

    /// Median of `values` (NaN when empty): `Statistics.median`.
    public static func median(_ values: [Double]) -> Double { Statistics.median(values) }

    /// Times the analysis of `images` synthetic images per layer of shape `shapes[l]`, in batches of `batchSize`
    /// (`RunAnalysis`'s default), under `parameters` plus `sweepThresholds` (`filterlens analyze`'s defaults):
    /// `warmup` untimed iterations, then `iterations` timed ones per layer.
    public static func run(shapes: [BlockShape], labelCount: Int = 10, images: Int = 1000, batchSize: Int = 100,
                           parameters: AnalysisParameters = AnalysisParameters(),
                           sweepThresholds: [Double] = [0.2, 0.3, 0.5, 0.7],
                           warmup: Int = 1, iterations: Int = 3, seed: UInt64 = 1) -> AnalysisBenchmark {
        precondition(labelCount >= 2 && images >= 1 && batchSize >= 1 && warmup >= 0 && iterations >= 1,
                     "labels >= 2, images, batch size and iterations >= 1, warm-up >= 0")
        let thresholds = RunAnalysis.thresholdsSwept(parameters: parameters, sweepThresholds: sweepThresholds)
        var random = SeededGenerator(seed: seed)
        var layers: [Layer] = []
        for (index, shape) in shapes.enumerated() {
            precondition(shape.channels >= 1 && shape.height >= 1 && shape.width >= 1, "layer shapes must be positive")
            let bound = 1 / Float(shape.count).squareRoot()
            let weights = (0..<(labelCount * shape.count)).map { _ in random.nextUniform(-bound, bound) }
            let batch = min(batchSize, images)
            let activations = (0..<(batch * shape.count)).map { _ in max(0, random.nextUniform(-1, 1)) }
            let labels = (0..<images).map { _ in Int32(truncatingIfNeeded: random.next() % UInt64(labelCount)) }
            var result = Layer(layer: index + 1, shape: shape, labelCount: labelCount, images: images, imagesAccumulated: 0,
                               filtersAnalyzed: 0, accumulationSeconds: [], matricesSeconds: [])
            for iteration in 0..<(warmup + iterations) {
                let start = DispatchTime.now().uptimeNanoseconds
                let accumulator = FieldAccumulator(weights: weights, labelCount: labelCount, channels: shape.channels,
                                                   height: shape.height, width: shape.width)
                activations.withUnsafeBufferPointer { values in
                    labels.withUnsafeBufferPointer { labels in
                        var from = 0
                        while from < images {
                            let count = min(batch, images - from)
                            accumulator.add(activations: values.baseAddress!, labels: labels.baseAddress! + from, batch: count)
                            from += count
                        }
                    }
                }
                let middle = DispatchTime.now().uptimeNanoseconds
                let sums = accumulator.fieldSums
                let block = RunAnalysis.filterBlock(filters: shape.channels, labels: labelCount)
                var analysed = 0
                while analysed < shape.channels {
                    let range = analysed..<min(shape.channels, analysed + block)
                    let part = FilterBlockAnalysis(raw: sums.rawBlock(filters: range), filters: range.count, labelCount: labelCount,
                                                   parameters: parameters, thresholds: thresholds)
                    precondition(part.sweep.count == thresholds.count, "one summary per threshold")
                    analysed = range.upperBound
                }
                let end = DispatchTime.now().uptimeNanoseconds
                let top = TopImagesAccumulator(channels: shape.channels, height: shape.height, width: shape.width,
                                               count: TopImageRecord.defaultCount)
                activations.withUnsafeBufferPointer { values in
                    labels.withUnsafeBufferPointer { labels in
                        var from = 0
                        while from < images {
                            let count = min(batch, images - from)
                            top.add(activations: values.baseAddress!, labels: labels.baseAddress! + from, firstImage: from, batch: count)
                            from += count
                        }
                    }
                }
                let ranked = DispatchTime.now().uptimeNanoseconds
                if iteration >= warmup {
                    result.accumulationSeconds.append(Double(middle - start) / 1e9)
                    result.matricesSeconds.append(Double(end - middle) / 1e9)
                    result.topImagesSeconds.append(Double(ranked - end) / 1e9)
                }
                result.imagesAccumulated = accumulator.imageCount
                result.filtersAnalyzed = analysed
            }
            layers.append(result)
        }
        return AnalysisBenchmark(layers: layers, images: images)
    }
}

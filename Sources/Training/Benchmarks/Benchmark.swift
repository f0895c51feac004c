import BLAS
import CIFAR
import Engine
import Foundation
import Tensor

extension Architecture {
    /// Multiply-adds x 2 of one image's forward pass (inputChannels x imageSize x imageSize) through the
    /// convolutions and the FC layers (FLOP).
    public var forwardFLOPs: Double {
        var flops = 0.0
        var channels = inputChannels, side = imageSize
        for layer in layers {
            switch layer {
            case .convolution(let filters):
                flops += 2 * Double(channels * filters * 9 * side * side)
                channels = filters
            case .maxPool(let size):
                side /= size
            }
        }
        var inputs = channels * side * side
        for width in fullyConnectedWidths {
            flops += 2 * Double(inputs * width)
            inputs = width
        }
        return flops
    }
}

/// Timings of the engine on random data: training steps and inference passes, median of timed iterations; per
/// training step also the time of each stage (convolution block, FC layer, loss) forward and backward, of the SGD
/// update, and of assembling one augmented batch from stored images.
public struct EngineBenchmark: Sendable {
    /// The convolution algorithm of each conv layer.
    public var algorithms: [ConvolutionAlgorithm]
    /// Seconds per training step (forward, backward, SGD) of each timed iteration.
    public var trainSeconds: [Double]
    /// Seconds per inference forward pass of each timed iteration, each right after a training step (so the
    /// weights have just changed and every Winograd layer transforms its kernels).
    public var inferenceSeconds: [Double]
    /// Seconds per inference forward pass with the weights left as they are between passes, as in phases 2 and 3
    /// and the test pass (Winograd layers reuse their kernels' transforms), `iterations` passes after an untimed one.
    public var frozenInferenceSeconds: [Double]
    /// Images per batch.
    public var batch: Int
    /// FLOP of one image's forward pass.
    public var forwardFLOPs: Double
    /// Per-stage forward and backward seconds of each timed training step (one record per iteration).
    public var layerTimings: [LayerTimings]
    /// Per-stage forward seconds of each timed inference pass (one record per iteration; backward times unused).
    public var inferenceLayerTimings: [LayerTimings]
    /// Seconds of the SGD update (Nesterov momentum, weight decay) of each timed training step.
    public var optimizerSeconds: [Double]
    /// Seconds of `BatchAssembler.fill` with augmentation for one batch, per timed iteration (outside the step).
    public var assemblySeconds: [Double]

    /// One stage's median times at the benchmark's batch.
    public struct LayerTime: Sendable {
        /// "conv1", ..., "fc1", ..., "loss" (see `LayerTimings`).
        public var name: String
        /// What the stage is.
        public var kind: LayerTimings.Kind
        /// Median seconds of its forward pass per training step.
        public var forwardSeconds: Double
        /// Median seconds of its backward pass per training step.
        public var backwardSeconds: Double
        /// (forward + backward) / the median training step, in 0...1.
        public var shareOfStep: Double
        /// Median seconds of its pass in an inference forward (eval mode), 0 when none was timed.
        public var inferenceSeconds: Double
        /// inferenceSeconds / the median inference pass, in 0...1.
        public var shareOfInference: Double
    }

    /// Median of `values`: `Statistics.median`.
    public static func median(_ values: [Double]) -> Double { Statistics.median(values) }

    /// Median seconds of a training step.
    public var trainStepSeconds: Double { Self.median(trainSeconds) }
    /// Training images per second (median step).
    public var trainImagesPerSecond: Double { Double(batch) / trainStepSeconds }
    /// Inference images per second (median pass).
    public var inferenceImagesPerSecond: Double { Double(batch) / Self.median(inferenceSeconds) }
    /// Inference images per second with unchanged weights (median pass).
    public var frozenInferenceImagesPerSecond: Double { Double(batch) / Self.median(frozenInferenceSeconds) }
    /// Training GFLOP/s, counting a training step as 3 forward passes (the usual convention).
    public var trainGFLOPs: Double { trainImagesPerSecond * 3 * forwardFLOPs / 1e9 }
    /// Inference GFLOP/s.
    public var inferenceGFLOPs: Double { inferenceImagesPerSecond * forwardFLOPs / 1e9 }

    /// Each stage's median forward and backward seconds and share of the median step, in network order (empty when
    /// nothing was timed).
    public var layerTimes: [LayerTime] {
        guard let first = layerTimings.first else { return [] }
        let step = trainStepSeconds, pass = inferenceSeconds.isEmpty ? 1 : Self.median(inferenceSeconds)
        return first.stageNames.indices.map { stage in
            let forward = Self.median(layerTimings.map { $0.forwardSeconds[stage] })
            let backward = Self.median(layerTimings.map { $0.backwardSeconds[stage] })
            let inference = inferenceLayerTimings.isEmpty ? 0 : Self.median(inferenceLayerTimings.map { $0.forwardSeconds[stage] })
            return LayerTime(name: first.stageNames[stage], kind: first.stageKinds[stage], forwardSeconds: forward,
                             backwardSeconds: backward, shareOfStep: (forward + backward) / step,
                             inferenceSeconds: inference, shareOfInference: inference / pass)
        }
    }

    /// Median seconds of the SGD update per training step.
    public var optimizerStepSeconds: Double { Self.median(optimizerSeconds) }
    /// Median over the timed steps of the step's seconds outside every stage and the SGD update (the benchmark's
    /// own clock reads and loop; >= 0 in each step).
    public var unattributedSeconds: Double {
        Self.median(zip(trainSeconds.indices, layerTimings).map { index, timings in
            trainSeconds[index] - timings.totalSeconds - optimizerSeconds[index]
        })
    }

    /// Median seconds to assemble one augmented batch.
    public var assemblyBatchSeconds: Double { Self.median(assemblySeconds) }
    /// Share of assembling a batch in a training step if both ran in turn on one thread: assembly / (assembly + step).
    /// The trainer assembles batch k + 1 on a background thread while it trains on batch k (`BatchPrefetcher`), so
    /// this is what that overlap saves at most.
    public var assemblyShare: Double { assemblyBatchSeconds / (assemblyBatchSeconds + trainStepSeconds) }

    /// Times `iterations` training steps and inference passes of `architecture` at `batch` after `warmup` untimed
    /// ones, recording each step's per-stage times, and as many augmented batch assemblies from a pool of 8 batches
    /// of random pixel bytes; then `iterations` inference passes in a row with the weights unchanged. `tileBudget`:
    /// Floats of each Winograd tile buffer (see `Network.init`).
    public static func run(architecture: Architecture, batch: Int, warmup: Int, iterations: Int, seed: UInt64 = 1,
                           algorithms: [ConvolutionAlgorithm]? = nil,
                           tileBudget: Int = Network.defaultTileBudget) -> EngineBenchmark {
        let network = Network(architecture: architecture, maxBatch: batch, seed: seed, algorithms: algorithms,
                              tileBudget: tileBudget)
        var optimizer = SGD(parameterCount: network.parameters.buffer.count, momentum: 0.9, weightDecay: 5e-4, nesterov: true)
        let input = FloatBuffer(count: batch * architecture.inputChannels * architecture.imageSize * architecture.imageSize)
        var generator = SeededGenerator(seed: seed)
        for index in 0..<input.count { input[index] = Float(generator.next() % 2001) / 1000 - 1 }
        let labels = (0..<batch).map { Int32($0 % architecture.labelCount) }
        let pool = syntheticImages(count: 8 * batch, labelCount: architecture.labelCount, generator: &generator)
        let assembled = FloatBuffer(count: batch * LabeledImages.pixelsPerImage)
        let assembledLabels = Int32Buffer(count: batch)
        var augmentation: SeededGenerator? = SeededGenerator(seed: seed, stream: 1)
        let assembler = BatchAssembler(shiftFill: .zero)
        network.timings = LayerTimings(architecture: architecture)
        var train: [Double] = [], inference: [Double] = [], optimizerTimes: [Double] = [], assembly: [Double] = []
        var stages: [LayerTimings] = [], inferenceStages: [LayerTimings] = []
        labels.withUnsafeBufferPointer { labels in
            for iteration in 0..<(warmup + iterations) {
                let indices = (0..<batch).map { _ in Int(generator.next() % UInt64(pool.count)) }
                let assemblyStart = DispatchTime.now().uptimeNanoseconds
                assembler.fill(input: assembled.pointer, labels: assembledLabels.pointer, from: pool, indices: indices,
                               random: &augmentation)
                let start = DispatchTime.now().uptimeNanoseconds
                _ = network.forward(input.pointer, batch: batch, mode: .training)
                _ = network.backward(labels: labels.baseAddress!)
                let backwardEnd = DispatchTime.now().uptimeNanoseconds
                optimizer.step(parameters: network.parameters.buffer, gradients: network.gradients.buffer, learningRate: 0.001)
                let middle = DispatchTime.now().uptimeNanoseconds
                let stepTimings = network.timings!          // before the inference forward overwrites the forward times
                _ = network.forward(input.pointer, batch: batch, mode: .inference)
                let end = DispatchTime.now().uptimeNanoseconds
                if iteration >= warmup {
                    assembly.append(Double(start - assemblyStart) / 1e9)
                    train.append(Double(middle - start) / 1e9)
                    optimizerTimes.append(Double(middle - backwardEnd) / 1e9)
                    inference.append(Double(end - middle) / 1e9)
                    stages.append(stepTimings)
                    inferenceStages.append(network.timings!)
                }
            }
        }
        var frozen: [Double] = []
        for iteration in 0...iterations {
            let start = DispatchTime.now().uptimeNanoseconds
            _ = network.forward(input.pointer, batch: batch, mode: .inference)
            if iteration > 0 { frozen.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9) }
        }
        return EngineBenchmark(algorithms: network.convolutionAlgorithms, trainSeconds: train, inferenceSeconds: inference,
                               frozenInferenceSeconds: frozen, batch: batch,
                               forwardFLOPs: architecture.forwardFLOPs, layerTimings: stages, inferenceLayerTimings: inferenceStages,
                               optimizerSeconds: optimizerTimes, assemblySeconds: assembly)
    }

    /// The machine's ceiling for the engine: GFLOP/s of one square `size` x `size` single-precision product through
    /// OpenBLAS (2 * size^3 FLOP), median of `iterations` timed products after one untimed one. Convolutions are
    /// products of other shapes, so a training step reaches a part of this (`filterlens bench` prints the share).
    public static func sgemmGFLOPs(size: Int = 2048, iterations: Int = 3) -> Double {
        let a = FloatBuffer(count: size * size), b = FloatBuffer(count: size * size), c = FloatBuffer(count: size * size)
        var generator = SeededGenerator(seed: 1)
        for index in 0..<a.count {
            a[index] = Float(generator.next() % 2001) / 1000 - 1
            b[index] = Float(generator.next() % 2001) / 1000 - 1
        }
        var seconds: [Double] = []
        for iteration in 0...max(iterations, 1) {
            let start = DispatchTime.now().uptimeNanoseconds
            BLAS.sgemm(m: size, n: size, k: size, a: a.pointer, b: b.pointer, c: c.pointer)
            if iteration > 0 { seconds.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9) }
        }
        return 2 * pow(Double(size), 3) / median(seconds) / 1e9
    }

    /// `count` images of random pixel bytes with labels cycling through 0 ..< labelCount.
    private static func syntheticImages(count: Int, labelCount: Int, generator: inout SeededGenerator) -> LabeledImages {
        var pixels = [UInt8](repeating: 0, count: count * LabeledImages.pixelsPerImage)
        for index in pixels.indices { pixels[index] = UInt8(truncatingIfNeeded: generator.next()) }
        return LabeledImages(pixels: pixels, labels: (0..<count).map { UInt8(truncatingIfNeeded: $0 % labelCount) })
    }
}

import BLAS
import Foundation
import Tensor

extension Architecture {
    /// Multiply-adds x 2 of one image's forward pass through the convolutions and the FC head (FLOP).
    public var forwardFLOPs: Double {
        var flops = 0.0
        var channels = 3, side = 32
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
        for width in head + [labelCount] {
            flops += 2 * Double(inputs * width)
            inputs = width
        }
        return flops
    }
}

/// Timings of the engine on random data: training steps and inference passes, median of timed iterations.
public struct EngineBenchmark: Sendable {
    /// Seconds per training step (forward, backward, SGD) of each timed iteration.
    public var trainSeconds: [Double]
    /// Seconds per inference forward pass of each timed iteration.
    public var inferenceSeconds: [Double]
    /// Images per batch.
    public var batch: Int
    /// FLOP of one image's forward pass.
    public var forwardFLOPs: Double

    /// Median of `values`.
    public static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return .nan }
        return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    }

    /// Training images per second (median step).
    public var trainImagesPerSecond: Double { Double(batch) / Self.median(trainSeconds) }
    /// Inference images per second (median pass).
    public var inferenceImagesPerSecond: Double { Double(batch) / Self.median(inferenceSeconds) }
    /// Training GFLOP/s, counting a training step as 3 forward passes (the usual convention).
    public var trainGFLOPs: Double { trainImagesPerSecond * 3 * forwardFLOPs / 1e9 }
    /// Inference GFLOP/s.
    public var inferenceGFLOPs: Double { inferenceImagesPerSecond * forwardFLOPs / 1e9 }

    /// Times `iterations` training steps and inference passes of `architecture` at `batch` after `warmup` untimed ones.
    public static func run(architecture: Architecture, batch: Int, warmup: Int, iterations: Int, seed: UInt64 = 1) -> EngineBenchmark {
        let network = Network(architecture: architecture, maxBatch: batch, seed: seed)
        var optimizer = SGD(parameterCount: network.parameters.buffer.count, momentum: 0.9, weightDecay: 5e-4, nesterov: true)
        let input = FloatBuffer(count: batch * 3 * 32 * 32)
        var generator = SeededGenerator(seed: seed)
        for index in 0..<input.count { input[index] = Float(generator.next() % 2001) / 1000 - 1 }
        let labels = (0..<batch).map { Int32($0 % architecture.labelCount) }
        var train: [Double] = [], inference: [Double] = []
        labels.withUnsafeBufferPointer { labels in
            for iteration in 0..<(warmup + iterations) {
                let start = DispatchTime.now().uptimeNanoseconds
                _ = network.forward(input.pointer, batch: batch, mode: .training)
                _ = network.backward(labels: labels.baseAddress!)
                optimizer.step(parameters: network.parameters.buffer, gradients: network.gradients.buffer, learningRate: 0.001)
                let middle = DispatchTime.now().uptimeNanoseconds
                _ = network.forward(input.pointer, batch: batch, mode: .inference)
                let end = DispatchTime.now().uptimeNanoseconds
                if iteration >= warmup {
                    train.append(Double(middle - start) / 1e9)
                    inference.append(Double(end - middle) / 1e9)
                }
            }
        }
        return EngineBenchmark(trainSeconds: train, inferenceSeconds: inference, batch: batch,
                               forwardFLOPs: architecture.forwardFLOPs)
    }
}

import CIFAR
import Engine
import Foundation
import RunStore
import Training
import Tensor

/// Why a pruning request cannot be carried out on a run (bad layers, a run without heads): says what and the fix.
public struct PruningError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// The trained network of a run, split for pruning consecutive layers l_1 < ... < l_k (`layers`):
///
/// - the *frozen prefix*: convolution layers 1 ... l_1 of run.h5 (batch norm in inference mode), whose block output of
///   l_1 (N x C x H x W) feeds
/// - the *trainable part*: convolutions l_2 ... l_k (with their batch norm and pools) and the phase 2 head of l_k
///   (labels x C*H*W, bias-free), the only weights that masks touch and retraining changes.
///
/// With one layer (k = 1) the trainable part is the head alone.
public final class PrunableNetwork {
    /// The pruned layers, consecutive, ascending, 1-based.
    public let layers: [Int]
    /// The run's whole architecture.
    public let architecture: Architecture
    /// Frozen layers 1 ... l_1.
    let prefix: Network
    /// Architecture of convolutions l_2 ... l_k plus one FC layer to the labels (nil when k = 1).
    let suffixArchitecture: Architecture?
    let suffixAlgorithms: [ConvolutionAlgorithm]
    /// Trained values of the trainable part by suffix parameter name ("conv1.weight" is layer l_2's, "fc1.weight" the
    /// head), and the batch-norm statistics.
    let suffixParameters: [String: [Float]]
    let suffixStatistics: [String: [Float]]
    /// The phase 2 head of l_k: labels x (C*H*W), feature index (c * H + h) * W + w.
    let headWeight: [Float]
    /// The phase 2 head's final test SR, SR(l_k), as run.h5 records it.
    public let probeFinalSR: Double
    /// Largest batch.
    public let batchSize: Int

    /// Loads the frozen prefix and the trainable part of `layers` from `run` (run.h5's weights) and `probes` (the phase 2
    /// probe of l_k).
    public init(run: RunFileReader, probes: ProbeSource, configuration: RunConfiguration, layers: [Int], batchSize: Int) throws {
        let architecture = try Architecture(notation: configuration.notation, hiddenWidths: configuration.head,
                                            labelCount: configuration.labelCount)
        let count = architecture.convolutionCount
        guard let first = layers.first, let last = layers.last, first >= 1, last <= count,
              zip(layers, layers.dropFirst()).allSatisfy({ $1 == $0 + 1 }) else {
            throw PruningError("--layers \(layers.map(String.init).joined(separator: ",")): give consecutive layers in 1...\(count), e.g. --layers \(max(1, count - 1)),\(count)")
        }
        self.layers = layers
        self.architecture = architecture
        self.batchSize = batchSize
        let algorithms = try ConvolutionAlgorithm.recorded(configuration.convolutionAlgorithms, for: architecture)
        // The layer specs of conv `from` ... conv `to` (1-based) with the pools that follow them, as notation tokens.
        func tokens(_ from: Int, _ to: Int) -> String {
            var result: [String] = []
            var conv = 0
            for spec in architecture.layers {
                switch spec {
                case .convolution(let filters):
                    conv += 1
                    if conv >= from && conv <= to { result.append(String(filters)) }
                case .maxPool(let size):
                    if conv >= from && conv <= to { result.append(size == 2 ? "M" : "M\(size)") }
                }
            }
            return result.joined(separator: " ")
        }
        let prefixArchitecture = try Architecture(notation: tokens(1, first), labelCount: architecture.labelCount)
        prefix = Network(architecture: prefixArchitecture, maxBatch: batchSize, seed: 0,
                         algorithms: Array(algorithms[0..<first]))
        for set in [prefix.parameters, prefix.statistics] {
            for view in set.views where view.name.hasPrefix("conv") {
                let (shape, values) = try run.parameter(view.name)
                guard shape == view.shape else {
                    throw PruningError("\(run.path): /weights/\(view.name) has shape \(shape), expected \(view.shape); re-run `filterlens train`")
                }
                values.withUnsafeBufferPointer { set[view.name].baseAddress!.update(from: $0.baseAddress!, count: $0.count) }
            }
        }
        let head = try probes.probe(layer: last, labelCount: architecture.labelCount)
        headWeight = head.weight
        probeFinalSR = head.finalSR
        if layers.count > 1 {
            let input = architecture.blockOutputShape(layer: first)
            let suffix = try Architecture(notation: tokens(first + 1, last), labelCount: architecture.labelCount,
                                          imageSize: input.height, inputChannels: input.channels)
            suffixArchitecture = suffix
            suffixAlgorithms = Array(algorithms[first..<last])
            var parameters: [String: [Float]] = [:], statistics: [String: [Float]] = [:]
            for (offset, layer) in layers.dropFirst().enumerated() {
                for part in ["weight", "bn.weight", "bn.bias"] {
                    parameters["conv\(offset + 1).\(part)"] = try run.parameter("conv\(layer).\(part)").values
                }
                for part in ["bn.running_mean", "bn.running_var"] {
                    statistics["conv\(offset + 1).\(part)"] = try run.parameter("conv\(layer).\(part)").values
                }
            }
            parameters["fc1.weight"] = head.weight
            parameters["fc1.bias"] = [Float](repeating: 0, count: architecture.labelCount)
            suffixParameters = parameters
            suffixStatistics = statistics
        } else {
            suffixArchitecture = nil
            suffixAlgorithms = []
            suffixParameters = [:]
            suffixStatistics = [:]
        }
    }

    /// Block output shape (C, H, W) of the last pruned layer: the head's input.
    public var headInputShape: (channels: Int, height: Int, width: Int) { architecture.blockOutputShape(layer: layers.last!) }
    /// Filters of pruned layer `layer`.
    public func filters(of layer: Int) -> Int { architecture.blockOutputShape(layer: layer).channels }

    /// The masked tensors, in mask order: "layerNN_head" (labels x C*H*W) and "layerNN_conv" (F_out x F_in, one entry
    /// per 3x3 kernel) per pruned convolution l_2 ... l_k.
    public var tensors: [PruneTensor] {
        let shape = headInputShape
        let labelCount = architecture.labelCount
        let features = shape.channels * shape.height * shape.width
        var result = [PruneTensor(name: RunLayout.layerName(layers.last!) + "_head", shape: [labelCount, features],
                                  dimensionLabels: ["output_label", "feature"], considered: labelCount * features)]
        for (input, output) in zip(layers, layers.dropFirst()) {
            let (fIn, fOut) = (filters(of: input), filters(of: output))
            result.append(PruneTensor(name: RunLayout.layerName(output) + "_conv", shape: [fOut, fIn],
                                      dimensionLabels: ["filter", "input_channel"], considered: fOut * fIn * 9))
        }
        return result
    }

    /// Weights of the network that computes the SR (`PruneMeasures.networkFractionDefinition`): the 3x3 kernels of
    /// convolutions 1 ... l_k (F_l x F_(l-1) x 9 each; F_0 = the image channels) and the head of l_k (labels x C*H*W).
    public var networkWeights: Int {
        let last = layers.last!
        let kernels = (1...last).reduce(0) { sum, layer in
            let input = layer == 1 ? architecture.inputChannels : filters(of: layer - 1)
            return sum + filters(of: layer) * input * 9
        }
        let shape = headInputShape
        return kernels + architecture.labelCount * shape.channels * shape.height * shape.width
    }

    /// A fresh copy of the trainable part, as trained (no mask yet), with an SGD of `recipe`.
    public func makeModel(recipe: RetrainRecipe) -> MaskedModel {
        MaskedModel(self, recipe: recipe)
    }

    /// Runs the frozen prefix on `input` (N x 3 x 32 x 32) and returns the block output of l_1 (N x C x H x W).
    func features(_ input: UnsafePointer<Float>, batch: Int) -> UnsafePointer<Float> {
        prefix.forward(input, batch: batch, mode: .inference)
        return prefix.blockOutput(layer: layers[0]).baseAddress!
    }
}

/// How the trainable part is retrained: SGD with Nesterov momentum and L2 weight decay (Engine's `SGD`), the
/// learning rate `learningRate * learningRateDecay^epoch`, batches of the run's training images in a seeded order.
public struct RetrainRecipe: Sendable, Equatable {
    public var epochs: Int
    public var learningRate: Double
    public var learningRateDecay: Double
    public var momentum: Double
    public var weightDecay: Double
    public var batchSize: Int
    /// Flip and shift augmentation of the training batches (as in phases 1 and 2).
    public var augment: Bool
    /// Seed of the batch order and augmentation: every model sees the same batches.
    public var seed: UInt64
    /// What the shift puts in uncovered pixels: the run's, as in its phases 1 and 2.
    public var shiftFill: ShiftFill

    public init(epochs: Int, learningRate: Double, learningRateDecay: Double, momentum: Double, weightDecay: Double,
                batchSize: Int, augment: Bool, seed: UInt64, shiftFill: ShiftFill = .zero) {
        self.shiftFill = shiftFill
        self.epochs = epochs
        self.learningRate = learningRate
        self.learningRateDecay = learningRateDecay
        self.momentum = momentum
        self.weightDecay = weightDecay
        self.batchSize = batchSize
        self.augment = augment
        self.seed = seed
    }
}

/// One copy of the trainable part with its keep-masks: every masked weight is exactly zero after `init`'s
/// `apply` and after every `step`.
public final class MaskedModel {
    private let source: PrunableNetwork
    /// Convolutions l_2 ... l_k + head (nil when only the head is pruned).
    let suffix: Network?
    /// The head alone (when `suffix` is nil).
    let head: LinearHead?
    /// The flat trained values, their gradients and a 0/1 mask of the same layout.
    let parameters: FloatBuffer
    let gradients: FloatBuffer
    let mask: FloatBuffer
    private var optimizer: SGD
    /// The head's mask offset in `parameters`, and each pruned convolution's (suffix order).
    private let headOffset: Int
    private let convolutionOffsets: [Int]
    private let labelCount: Int

    init(_ source: PrunableNetwork, recipe: RetrainRecipe) {
        self.source = source
        labelCount = source.architecture.labelCount
        if let architecture = source.suffixArchitecture {
            let network = Network(architecture: architecture, maxBatch: source.batchSize, seed: 0,
                                  algorithms: source.suffixAlgorithms)
            for (set, values) in [(network.parameters, source.suffixParameters), (network.statistics, source.suffixStatistics)] {
                for view in set.views {
                    let stored = values[view.name]!
                    stored.withUnsafeBufferPointer { set[view.name].baseAddress!.update(from: $0.baseAddress!, count: $0.count) }
                }
            }
            suffix = network
            head = nil
            parameters = network.parameters.buffer
            gradients = network.gradients.buffer
            headOffset = network.parameters.view(named: "fc1.weight")!.offset
            convolutionOffsets = (1..<source.layers.count).map { network.parameters.view(named: "conv\($0).weight")!.offset }
        } else {
            let shape = source.headInputShape
            let linear = LinearHead(inputSize: shape.channels * shape.height * shape.width, labelCount: labelCount,
                                    maxBatch: source.batchSize, seed: 0)
            source.headWeight.withUnsafeBufferPointer { linear.weight.pointer.update(from: $0.baseAddress!, count: $0.count) }
            suffix = nil
            head = linear
            parameters = linear.weight
            gradients = linear.gradient
            headOffset = 0
            convolutionOffsets = []
        }
        mask = FloatBuffer(count: parameters.count)
        for i in 0..<mask.count { mask[i] = 1 }
        if let suffix {   // the head is bias-free, as in phase 2: fc1.bias is held at zero
            let bias = suffix.parameters.view(named: "fc1.bias")!
            for i in bias.offset..<(bias.offset + bias.count) { mask[i] = 0 }
        }
        optimizer = SGD(parameterCount: parameters.count, momentum: Float(recipe.momentum),
                        weightDecay: Float(recipe.weightDecay), nesterov: true)
        enforce()
    }

    /// Sets the masks: `head` over the head (labels x C*H*W), `convolutions[i]` (F_out x F_in, one entry per 3x3
    /// kernel) over convolution l_(i+2). Masked weights become zero at once.
    public func apply(head headMask: WeightMask, convolutions: [WeightMask]) {
        precondition(convolutions.count == convolutionOffsets.count, "one kernel mask per pruned convolution")
        precondition(headMask.keep.count == labelCount * source.headInputShape.channels * source.headInputShape.height
                     * source.headInputShape.width, "head mask size")
        for (index, keep) in headMask.keep.enumerated() { mask[headOffset + index] = Float(keep) }
        for (offset, kernels) in zip(convolutionOffsets, convolutions) {
            for (index, keep) in kernels.keep.enumerated() {
                for k in 0..<9 { mask[offset + index * 9 + k] = Float(keep) }
            }
        }
        enforce()
    }

    /// Masked weights and their velocity to exactly zero.
    private func enforce() {
        let p = parameters.pointer, v = optimizer.velocity.pointer, m = mask.pointer
        for i in 0..<parameters.count where m[i] == 0 {
            p[i] = 0
            v[i] = 0
        }
    }

    /// What a mid-epoch checkpoint of the retraining holds, by name: "parameters" (the flat trainable values: the
    /// head's weights, or the pruned convolutions, their batch norms and the head), "velocity" (the optimizer's, same
    /// layout) and, with convolutions, "statistics" (their batch-norm running means and variances). The mask is not
    /// state: it follows again from the clusters and seeds.
    public var state: [(name: String, buffer: FloatBuffer)] {
        var buffers = [("parameters", parameters), ("velocity", optimizer.velocity)]
        if let suffix { buffers.append(("statistics", suffix.statistics.buffer)) }
        return buffers
    }

    /// Restores `state` from a checkpoint's buffers; throws when one is missing or of another size (a checkpoint of
    /// another network).
    public func restore(_ buffers: [String: [Float]]) throws(PruningError) {
        for (name, buffer) in state {
            guard let values = buffers[name], values.count == buffer.count else {
                throw PruningError("the retraining checkpoint's \(name) has \(buffers[name]?.count ?? 0) values, the model \(buffer.count)")
            }
            values.withUnsafeBufferPointer { buffer.pointer.update(from: $0.baseAddress!, count: $0.count) }
        }
    }

    /// The head's weights (labels x C*H*W), as they are now.
    public var headWeights: [Float] {
        let count = labelCount * source.headInputShape.channels * source.headInputShape.height * source.headInputShape.width
        return Array(UnsafeBufferPointer(start: parameters.pointer + headOffset, count: count))
    }

    /// Convolution l_(i+2)'s weights (F x C x 3 x 3) as they are now.
    public func convolutionWeights(_ index: Int) -> [Float] {
        let view = suffix!.parameters.view(named: "conv\(index + 1).weight")!
        return Array(UnsafeBufferPointer(start: parameters.pointer + view.offset, count: view.count))
    }

    /// Every value of the trainable part (flat) where the mask is 0: all exactly zero after any step.
    public var maskedValues: [Float] { (0..<parameters.count).filter { mask[$0] == 0 }.map { parameters[$0] } }

    /// One SGD step on a batch of images (N x 3 x 32 x 32): gradients of masked weights zeroed before the step, the
    /// weights and velocity zeroed after it. Returns the batch's mean loss and correct count (before the step).
    func step(_ input: UnsafePointer<Float>, labels: UnsafePointer<Int32>, batch: Int, learningRate: Float) -> (loss: Float, correct: Int) {
        let features = source.features(input, batch: batch)
        let result: (loss: Float, correct: Int)
        if let suffix {
            suffix.forward(features, batch: batch, mode: .training)
            result = suffix.backward(labels: labels)
        } else {
            _ = head!.forward(features: features, batch: batch)
            result = head!.backward(features: features, labels: labels, batch: batch)
        }
        let g = gradients.pointer, m = mask.pointer
        for i in 0..<gradients.count { g[i] *= m[i] }
        optimizer.step(parameters: parameters, gradients: gradients, learningRate: learningRate)
        enforce()
        return result
    }

    /// Correct top-1 predictions on a batch of the frozen prefix's block outputs of l_1 (N x C x H x W), in
    /// inference mode.
    func correct(features: UnsafePointer<Float>, labels: UnsafePointer<Int32>, batch: Int) -> Int {
        let logits: UnsafeBufferPointer<Float>
        if let suffix {
            logits = suffix.forward(features, batch: batch, mode: .inference)
        } else {
            logits = head!.forward(features: features, batch: batch)
        }
        return Layers.softmaxCrossEntropy(logits: logits.baseAddress!, labels: labels, batch: batch, classes: labelCount,
                                          gradLogits: nil).correct
    }
}

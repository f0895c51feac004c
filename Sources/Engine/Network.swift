import BLAS
import Tensor

/// Whether a forward pass trains (batch-norm batch statistics, running statistics updated) or infers
/// (running statistics).
public enum Mode: Sendable {
    case training, inference
}

/// A VGG-style CNN on the CPU: convolution blocks (3x3 conv, batch norm, ReLU, optional max-pool), flatten,
/// a linear FC head. All activations and their gradients live in buffers preallocated for `maxBatch` images.
///
/// Initialisation (seeded): convolutions as `convolutionInitialization` says (PyTorch's default, uniform in
/// +-1/sqrt(C*9), unless asked otherwise); batch-norm weight 1, bias 0, running mean 0, running var 1; FC weight and bias uniform in +-1/sqrt(inputs) (PyTorch's
/// nn.Linear default).
public final class Network {
    /// One convolution block's geometry, parameter names and buffers (activations are C x N x H x W).
    private struct Block {
        let inChannels: Int, filters: Int, side: Int, poolSize: Int?
        let convolution: ConvolutionKernel
        var outSide: Int { side / (poolSize ?? 1) }
        let weight: String, gamma: String, beta: String, runningMean: String, runningVariance: String
        let preActivation: FloatBuffer          // F x N x H x W, convolution output
        let activation: FloatBuffer             // F x N x H x W, after batch norm and ReLU
        let pooled: FloatBuffer?                // F x N x H/s x W/s
        let argmax: Int32Buffer?                // F x N x H/s x W/s, index inside each H x W plane
        let batchMean: FloatBuffer              // F
        let batchInverseStd: FloatBuffer        // F
        let affineScale: FloatBuffer            // F, inference batch norm as scale * x + shift (fused Winograd)
        let affineShift: FloatBuffer            // F
        var output: FloatBuffer { pooled ?? activation }
    }

    /// One FC layer: out = in * weight^T + bias.
    private struct Dense {
        let inputSize: Int, outputSize: Int
        let weight: String, bias: String
        let output: FloatBuffer                 // N x outputSize
    }

    /// The architecture this network was built from.
    public let architecture: Architecture
    /// Largest batch `forward` accepts.
    public let maxBatch: Int
    /// Trained tensors: "convL.weight" (F x C x 3 x 3), "convL.bn.weight", "convL.bn.bias" (F), then
    /// "fcI.weight" (out x in), "fcI.bias" (out), fc numbered from 1 in head order, the last one giving the labels.
    public let parameters: ParameterSet
    /// d loss / d parameters after `backward`, same layout as `parameters`.
    public let gradients: ParameterSet
    /// Batch-norm running statistics "convL.bn.running_mean", "convL.bn.running_var" (F each); not trained.
    public let statistics: ParameterSet
    /// How `initialize(seed:)` draws the convolution weights.
    public let convolutionInitialization: ConvolutionInitialization
    /// Batch-norm epsilon and momentum.
    public var batchNorm = Layers.BatchNormConfiguration()

    private var blocks: [Block] = []
    private var dense: [Dense] = []
    private let input: FloatBuffer              // Cin x N x H x W
    private let features: FloatBuffer           // N x C*H*W, flattened last block output
    private let gradientA: FloatBuffer          // scratch for activation gradients (largest activation)
    private let gradientB: FloatBuffer          // second scratch, so input and output gradients never alias
    private let scratch: ConvolutionScratch     // im2col and Winograd scratch, shared by the layers
    /// Per block, the Winograd input transforms of the last training forward, kept for its backward (alpha² x C x
    /// tiles of maxBatch images); allocated by the first training forward, nil for im2col blocks and until then.
    private var inputTiles: [FloatBuffer?] = []
    /// Per block, the transformed kernels of inference passes (Winograd blocks; nil for im2col ones).
    private var filterCaches: [FilterTransformCache?] = []
    private var outsideLayout: [Int: FloatBuffer] = [:]   // block outputs converted to N x C x H x W on request
    private var convertedLayers: Set<Int> = []            // layers whose outsideLayout holds the last forward
    private var lastBatch = 0
    private var lastMode: Mode = .inference
    private var recordedTimings: LayerTimings?

    /// Per-stage wall-clock times of the last forward and the last backward, recorded while non-nil: set it to
    /// `LayerTimings(architecture: network.architecture)` to start recording, to nil to stop. Nil by default; then
    /// the passes read no clock (one nil check per stage).
    public var timings: LayerTimings? {
        get { recordedTimings }
        set {
            precondition(newValue.map { $0.stageCount == blocks.count + dense.count + 1 } ?? true,
                         "timings must have one stage per convolution block and FC layer, plus the loss")
            recordedTimings = newValue
        }
    }

    /// Default Floats of im2col scratch (see `init`).
    public static let defaultColBudget = 1 << 21
    /// Default Floats of each of the two Winograd tile buffers (see `init`): 64 MiB, so that VGG-6 and VGG-16 at
    /// batch 128 run conv2 in two chunks (16 MiB ran VGG-6 about 10% slower on a 2-core Zen 3, docs/performance.md).
    public static let defaultTileBudget = 1 << 24

    /// The convolution algorithm of each conv layer, in order (see `ConvolutionPolicy`).
    public var convolutionAlgorithms: [ConvolutionAlgorithm] { blocks.map(\.convolution.algorithm) }

    /// Builds the network for batches of up to `maxBatch` images, parameters drawn from `seed` (convolutions as
    /// `convolutionInitialization` says). `algorithms` gives
    /// each conv layer's algorithm (default: `ConvolutionPolicy.automatic`'s choice; each must support its layer's
    /// map side). `colBudget` caps the im2col scratch and `tileBudget` each Winograd tile buffer, in Floats (both
    /// always hold at least one image of the largest layer); convolutions run over chunks of as many images as fit.
    public init(architecture: Architecture, maxBatch: Int, seed: UInt64, algorithms: [ConvolutionAlgorithm]? = nil,
                convolutionInitialization: ConvolutionInitialization = .pytorchDefault,
                colBudget: Int = Network.defaultColBudget, tileBudget: Int = Network.defaultTileBudget) {
        precondition(maxBatch >= 1, "maxBatch must be positive")
        self.convolutionInitialization = convolutionInitialization
        let algorithms = algorithms ?? (try! ConvolutionPolicy.automatic.algorithms(for: architecture))
        precondition(algorithms.count == architecture.blocks.count,
                     "\(algorithms.count) convolution algorithms for \(architecture.blocks.count) conv layers")
        self.architecture = architecture
        self.maxBatch = maxBatch
        var layout: [(name: String, shape: [Int])] = []
        var statisticsLayout: [(name: String, shape: [Int])] = []
        var channels = architecture.inputChannels
        var largestActivation = 0
        for (index, spec) in architecture.blocks.enumerated() {
            let name = "conv\(index + 1)"
            let f = spec.filters, side = spec.side
            precondition(algorithms[index].supports(side: side),
                         "\(algorithms[index].rawValue) cannot tile conv\(index + 1)'s \(side)x\(side) maps")
            layout += [("\(name).weight", [f, channels, 3, 3]), ("\(name).bn.weight", [f]), ("\(name).bn.bias", [f])]
            statisticsLayout += [("\(name).bn.running_mean", [f]), ("\(name).bn.running_var", [f])]
            let activationCount = f * maxBatch * side * side
            largestActivation = max(largestActivation, activationCount, channels * maxBatch * side * side)
            let pooledCount = spec.poolSize.map { activationCount / ($0 * $0) }
            blocks.append(Block(
                inChannels: channels, filters: f, side: side, poolSize: spec.poolSize,
                convolution: ConvolutionKernel(algorithm: algorithms[index], channels: channels, filters: f, side: side),
                weight: "\(name).weight", gamma: "\(name).bn.weight", beta: "\(name).bn.bias",
                runningMean: "\(name).bn.running_mean", runningVariance: "\(name).bn.running_var",
                preActivation: FloatBuffer(count: activationCount), activation: FloatBuffer(count: activationCount),
                pooled: pooledCount.map { FloatBuffer(count: $0) }, argmax: pooledCount.map { Int32Buffer(count: $0) },
                batchMean: FloatBuffer(count: f), batchInverseStd: FloatBuffer(count: f),
                affineScale: FloatBuffer(count: f), affineShift: FloatBuffer(count: f)))
            channels = f
        }
        var inputSize = architecture.flattenedSize
        largestActivation = max(largestActivation, maxBatch * inputSize)
        for (index, width) in architecture.fullyConnectedWidths.enumerated() {
            let name = "fc\(index + 1)"
            layout += [("\(name).weight", [width, inputSize]), ("\(name).bias", [width])]
            dense.append(Dense(inputSize: inputSize, outputSize: width, weight: "\(name).weight", bias: "\(name).bias",
                               output: FloatBuffer(count: maxBatch * width)))
            largestActivation = max(largestActivation, maxBatch * width)
            inputSize = width
        }
        parameters = ParameterSet(layout: layout)
        gradients = ParameterSet(sameLayoutAs: parameters)
        statistics = ParameterSet(layout: statisticsLayout)
        let side = architecture.imageSize
        input = FloatBuffer(count: architecture.inputChannels * maxBatch * side * side)
        features = FloatBuffer(count: maxBatch * architecture.flattenedSize)
        gradientA = FloatBuffer(count: largestActivation)
        gradientB = FloatBuffer(count: largestActivation)
        scratch = ConvolutionScratch(kernels: blocks.map(\.convolution), batch: maxBatch, colBudget: colBudget,
                                     tileBudget: tileBudget)
        inputTiles = Array(repeating: nil, count: blocks.count)
        filterCaches = blocks.map { $0.convolution.transform == nil ? nil : FilterTransformCache(kernel: $0.convolution) }
        initialize(seed: seed)
    }

    /// The bytes a network of `architecture` takes for batches of `maxBatch` images, before it allocates them: every
    /// block's activations (F x N x H x W, before and after batch norm and ReLU, pooled with its argmax, and the block
    /// output again in N x C x H x W as the phases read it), the two
    /// activation-gradient buffers, the input and flattened features, the FC outputs, the convolution scratch
    /// (im2col columns and Winograd tiles, within their budgets), with `training` the Winograd input tiles kept for
    /// the backward, and the parameters, gradients and statistics. What OpenBLAS and the data take is not counted.
    public static func bytesNeeded(architecture: Architecture, maxBatch: Int, algorithms: [ConvolutionAlgorithm]? = nil,
                                   training: Bool = true, colBudget: Int = Network.defaultColBudget,
                                   tileBudget: Int = Network.defaultTileBudget) -> Int {
        let algorithms = algorithms ?? (try? ConvolutionPolicy.automatic.algorithms(for: architecture))
            ?? Array(repeating: .im2col, count: architecture.blocks.count)
        var floats = 0, int32s = 0, largestActivation = 0, parameterCount = 0, channels = architecture.inputChannels
        var kernels: [ConvolutionKernel] = []
        for (index, spec) in architecture.blocks.enumerated() {
            let kernel = ConvolutionKernel(algorithm: algorithms[index], channels: channels, filters: spec.filters, side: spec.side)
            kernels.append(kernel)
            let activation = spec.filters * maxBatch * spec.side * spec.side
            largestActivation = max(largestActivation, activation, channels * maxBatch * spec.side * spec.side)
            let output = activation / ((spec.poolSize ?? 1) * (spec.poolSize ?? 1))
            // Before and after batch norm and ReLU; the pooled output with its argmax; the output once more in
            // N x C x H x W, as phases 1 to 3 ask for it (`blockOutput`).
            floats += 2 * activation + (spec.poolSize == nil ? 0 : output) + output
            int32s += spec.poolSize == nil ? 0 : output
            if training { floats += kernel.inputTileFloats(batch: maxBatch) }
            parameterCount += spec.filters * channels * 9 + 2 * spec.filters
            channels = spec.filters
        }
        var inputSize = architecture.flattenedSize
        largestActivation = max(largestActivation, maxBatch * inputSize)
        for width in architecture.fullyConnectedWidths {
            floats += maxBatch * width
            largestActivation = max(largestActivation, maxBatch * width)
            parameterCount += width * inputSize + width
            inputSize = width
        }
        let side = architecture.imageSize
        floats += 2 * largestActivation + architecture.inputChannels * maxBatch * side * side + maxBatch * architecture.flattenedSize
        floats += 3 * parameterCount
        return MemoryLayout<Float>.size * floats + MemoryLayout<Int32>.size * int32s
            + ConvolutionScratch.bytes(kernels: kernels, batch: maxBatch, colBudget: colBudget, tileBudget: tileBudget)
    }

    /// The largest batch, up to `limit`, whose network (`bytesNeeded`) fits in `bytes`; 0 when not even one image does.
    public static func largestBatch(architecture: Architecture, fitting bytes: Int, upTo limit: Int,
                                    algorithms: [ConvolutionAlgorithm]? = nil, training: Bool = true) -> Int {
        var low = 0, high = max(limit, 0)
        while low < high {
            let middle = (low + high + 1) / 2
            if bytesNeeded(architecture: architecture, maxBatch: middle, algorithms: algorithms, training: training) <= bytes {
                low = middle
            } else {
                high = middle - 1
            }
        }
        return low
    }

    /// Draws fresh parameters from `seed` and resets the running statistics (mean 0, variance 1).
    public func initialize(seed: UInt64) {
        var generator = SeededGenerator(seed: seed)
        for block in blocks {
            let weight = parameters[block.weight], fanIn = block.inChannels * 9
            for i in weight.indices { weight[i] = convolutionInitialization.draw(fanIn: fanIn, &generator) }
            parameters[block.gamma].update(repeating: 1)
            parameters[block.beta].update(repeating: 0)
            statistics[block.runningMean].update(repeating: 0)
            statistics[block.runningVariance].update(repeating: 1)
        }
        for layer in dense {
            let bound = 1 / Float(layer.inputSize).squareRoot()
            let weight = parameters[layer.weight], bias = parameters[layer.bias]
            for i in weight.indices { weight[i] = generator.nextUniform(-bound, bound) }
            for i in bias.indices { bias[i] = generator.nextUniform(-bound, bound) }
        }
    }

    /// Runs the network on `input` (N x Cin x H x W, N <= maxBatch) and returns the logits (N x labelCount), valid
    /// until the next forward. `.training` normalises with batch statistics and updates the running statistics.
    @discardableResult
    public func forward(_ input: UnsafePointer<Float>, batch: Int, mode: Mode) -> UnsafeBufferPointer<Float> {
        precondition(batch >= 1 && batch <= maxBatch, "batch \(batch) is outside 1...\(maxBatch)")
        var lapStart = startLaps(forward: true)
        let planeSize = architecture.imageSize * architecture.imageSize
        Layers.swapLeadingAxes(input, self.input.pointer, a: batch, b: architecture.inputChannels, inner: planeSize)
        var blockInput = self.input.pointer
        for (index, block) in blocks.enumerated() {
            let n = batch, side = block.side
            // Inference with Winograd: batch norm, ReLU and a 2 x 2 max-pool applied by the output transform (the same
            // numbers; the pool's argmax, which only a backward reads, is not written), with the kernels' transforms
            // kept from the last inference pass while the weights are unchanged (`FilterTransformCache`).
            let fusedInference = mode == .inference && block.convolution.transform != nil
            let pooledByTransform = fusedInference && block.poolSize == 2
            if fusedInference {
                Layers.batchNormInferenceAffine(gamma: parameters[block.gamma].baseAddress!,
                                                beta: parameters[block.beta].baseAddress!,
                                                runningMean: statistics[block.runningMean].baseAddress!,
                                                runningVariance: statistics[block.runningVariance].baseAddress!,
                                                mean: block.batchMean.pointer, inverseStd: block.batchInverseStd.pointer,
                                                scale: block.affineScale.pointer, shift: block.affineShift.pointer,
                                                channels: block.filters, configuration: batchNorm)
                let weight = UnsafePointer(parameters[block.weight].baseAddress!)
                block.convolution.forward(input: blockInput, weight: weight,
                                          output: pooledByTransform ? block.pooled!.pointer : block.activation.pointer,
                                          batch: n, scratch: scratch,
                                          affineReLU: Layers.AffineReLU(scale: block.affineScale.pointer,
                                                                        shift: block.affineShift.pointer,
                                                                        pooled: pooledByTransform),
                                          transformedFilters: filterCaches[index]!.transforms(of: weight))
            } else {
                block.convolution.forward(input: blockInput, weight: parameters[block.weight].baseAddress!,
                                          output: block.preActivation.pointer, batch: n, scratch: scratch,
                                          keepInputTiles: mode == .training ? keptInputTiles(index) : nil)
                Layers.batchNormReLUForward(input: block.preActivation.pointer, output: block.activation.pointer,
                                            gamma: parameters[block.gamma].baseAddress!,
                                            beta: parameters[block.beta].baseAddress!,
                                            mean: block.batchMean.pointer, inverseStd: block.batchInverseStd.pointer,
                                            runningMean: statistics[block.runningMean].baseAddress!,
                                            runningVariance: statistics[block.runningVariance].baseAddress!,
                                            channels: block.filters, count: n * side * side,
                                            training: mode == .training, configuration: batchNorm)
            }
            if !pooledByTransform, let size = block.poolSize, let pooled = block.pooled, let argmax = block.argmax {
                Layers.maxPoolForward(input: block.activation.pointer, output: pooled.pointer, argmax: argmax.pointer,
                                      planes: block.filters * n, height: side, width: side, size: size)
            }
            blockInput = block.output.pointer
            lapStart = lap(index, forward: true, since: lapStart)
        }
        let last = blocks[blocks.count - 1]
        // Flattening (C x N x H x W -> N x C*H*W) is timed with fc1.
        Layers.swapLeadingAxes(blockInput, features.pointer, a: last.filters, b: batch, inner: last.outSide * last.outSide)
        var denseInput = UnsafePointer(features.pointer)
        for (index, layer) in dense.enumerated() {
            Layers.fullyConnectedForward(input: denseInput, weight: parameters[layer.weight].baseAddress!,
                                         bias: parameters[layer.bias].baseAddress!, output: layer.output.pointer,
                                         batch: batch, inputSize: layer.inputSize, outputSize: layer.outputSize)
            denseInput = UnsafePointer(layer.output.pointer)
            lapStart = lap(blocks.count + index, forward: true, since: lapStart)
        }
        lastBatch = batch
        lastMode = mode
        convertedLayers.removeAll(keepingCapacity: true)
        return logits
    }

    /// The logits of the last forward (N x labelCount).
    public var logits: UnsafeBufferPointer<Float> {
        UnsafeBufferPointer(start: dense[dense.count - 1].output.pointer, count: lastBatch * architecture.labelCount)
    }

    /// After a `.training` forward: softmax cross-entropy (mean over the batch) against `labels` (N, 0-based),
    /// writes every gradient (overwriting, not accumulating) and returns the loss and the count of correct top-1
    /// predictions (as `evaluate` would, without a second softmax).
    @discardableResult
    public func backward(labels: UnsafePointer<Int32>) -> (loss: Float, correct: Int) {
        precondition(lastBatch > 0 && lastMode == .training, "backward needs a .training forward first")
        let batch = lastBatch
        var lapStart = startLaps(forward: false)
        var gradOut = gradientA, spare = gradientB
        let evaluation = Layers.softmaxCrossEntropy(logits: logits.baseAddress!, labels: labels, batch: batch,
                                                    classes: architecture.labelCount, gradLogits: gradOut.pointer)
        lapStart = lap(blocks.count + dense.count, forward: false, since: lapStart)
        for index in dense.indices.reversed() {
            let layer = dense[index]
            let layerInput = index == 0 ? features.pointer : dense[index - 1].output.pointer
            Layers.fullyConnectedBackward(input: layerInput, weight: parameters[layer.weight].baseAddress!,
                                          gradOutput: gradOut.pointer,
                                          gradWeight: gradients[layer.weight].baseAddress!,
                                          gradBias: gradients[layer.bias].baseAddress!, gradInput: spare.pointer,
                                          batch: batch, inputSize: layer.inputSize, outputSize: layer.outputSize)
            swap(&gradOut, &spare)
            lapStart = lap(blocks.count + index, forward: false, since: lapStart)
        }
        // N x C*H*W -> C x N x H x W
        let last = blocks[blocks.count - 1]
        Layers.swapLeadingAxes(gradOut.pointer, spare.pointer, a: batch, b: last.filters,
                               inner: last.outSide * last.outSide)
        swap(&gradOut, &spare)
        lapStart = lap(blocks.count, forward: false, since: lapStart)      // un-flattening belongs to fc1
        for index in blocks.indices.reversed() {
            let block = blocks[index]
            let side = block.side
            if let size = block.poolSize, let argmax = block.argmax {
                Layers.maxPoolBackward(gradOutput: gradOut.pointer, argmax: argmax.pointer, gradInput: spare.pointer,
                                       planes: block.filters * batch, height: side, width: side, size: size)
                swap(&gradOut, &spare)
            }
            Layers.batchNormReLUBackward(input: block.preActivation.pointer, output: block.activation.pointer,
                                         gradOutput: gradOut.pointer, gradInput: gradOut.pointer,
                                         gamma: parameters[block.gamma].baseAddress!,
                                         mean: block.batchMean.pointer, inverseStd: block.batchInverseStd.pointer,
                                         gradGamma: gradients[block.gamma].baseAddress!,
                                         gradBeta: gradients[block.beta].baseAddress!,
                                         channels: block.filters, count: batch * side * side)
            let blockInput = index == 0 ? input.pointer : blocks[index - 1].output.pointer
            block.convolution.backward(input: blockInput, weight: parameters[block.weight].baseAddress!,
                                       gradOutput: gradOut.pointer, gradWeight: gradients[block.weight].baseAddress!,
                                       gradInput: index == 0 ? nil : spare.pointer, batch: batch, scratch: scratch,
                                       keptInputTiles: inputTiles[index].map { UnsafePointer($0.pointer) })
            swap(&gradOut, &spare)
            lapStart = lap(index, forward: false, since: lapStart)
        }
        return evaluation
    }

    /// Block `index`'s buffer for the input transforms a training forward keeps for the backward (allocated on first
    /// use), nil for an im2col block.
    private func keptInputTiles(_ index: Int) -> UnsafeMutablePointer<Float>? {
        let convolution = blocks[index].convolution
        guard convolution.transform != nil else { return nil }
        if inputTiles[index] == nil { inputTiles[index] = FloatBuffer(count: convolution.inputTileFloats(batch: maxBatch)) }
        return inputTiles[index]!.pointer
    }

    // MARK: Per-stage timing (off unless `timings` is set)

    /// While timing: zeroes the forward (or backward) times of every stage and returns the clock in nanoseconds.
    /// Otherwise returns 0 without reading the clock.
    @inline(__always)
    private func startLaps(forward: Bool) -> UInt64 {
        guard recordedTimings != nil else { return 0 }
        if forward {
            recordedTimings!.forwardSeconds.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
        } else {
            recordedTimings!.backwardSeconds.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
        }
        return LayerTimings.now()
    }

    /// While timing: adds the seconds since `start` (nanoseconds) to `stage`'s forward (or backward) time and returns
    /// the clock now, where the next stage starts. Otherwise returns 0 without reading the clock.
    @inline(__always)
    private func lap(_ stage: Int, forward: Bool, since start: UInt64) -> UInt64 {
        guard recordedTimings != nil else { return 0 }
        let now = LayerTimings.now()
        let seconds = Double(now &- start) / 1e9
        if forward {
            recordedTimings!.forwardSeconds[stage] += seconds
        } else {
            recordedTimings!.backwardSeconds[stage] += seconds
        }
        return now
    }

    /// Mean cross-entropy and the count of correct top-1 predictions of the last forward against `labels` (N,
    /// 0-based); no gradients.
    public func evaluate(labels: UnsafePointer<Int32>) -> (loss: Float, correct: Int) {
        precondition(lastBatch > 0, "evaluate needs a forward first")
        return Layers.softmaxCrossEntropy(logits: logits.baseAddress!, labels: labels, batch: lastBatch,
                                          classes: architecture.labelCount, gradLogits: nil)
    }

    /// Conv layer l's block output of the last forward (N x C x H x W, 1-based l): after batch norm and ReLU, and
    /// after the max-pool when one follows directly. Valid until the next forward.
    public func blockOutput(layer: Int) -> UnsafeBufferPointer<Float> {
        precondition(layer >= 1 && layer <= blocks.count, "layer \(layer) is outside 1...\(blocks.count)")
        precondition(lastBatch > 0, "blockOutput needs a forward first")
        let block = blocks[layer - 1]
        let planeSize = block.outSide * block.outSide
        let count = lastBatch * block.filters * planeSize
        let converted = outsideLayout[layer] ?? FloatBuffer(count: maxBatch * block.filters * planeSize)
        outsideLayout[layer] = converted
        if !convertedLayers.contains(layer) {
            Layers.swapLeadingAxes(block.output.pointer, converted.pointer, a: block.filters, b: lastBatch,
                                   inner: planeSize)
            convertedLayers.insert(layer)
        }
        return UnsafeBufferPointer(start: converted.pointer, count: count)
    }
}

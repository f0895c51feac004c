import Dispatch
import Foundation
import Tensor

/// How the convolution algorithm of each conv layer is chosen (the `--conv-algorithm` flag).
public enum ConvolutionPolicy: Equatable, Sendable {
    /// The engine's rule, from per-layer measurements on 2-core AVX2 and AVX-512 machines (docs/performance.md):
    /// F(4x4) where the map side is a multiple of 4 and at least `automaticF4MinimumSide`, F(2x2) on other even
    /// sides, im2col for the first layer's few input channels (below `automaticMinimumChannels`) and odd sides.
    case automatic
    /// The fastest algorithm of each layer, timed on random data at the run's batch when the network is built.
    case measured
    /// One algorithm wherever it can run; layers whose map side it cannot tile use im2col.
    case everywhere(ConvolutionAlgorithm)
    /// One algorithm per conv layer, in order.
    case perLayer([ConvolutionAlgorithm])

    /// Input channels below which `automatic` keeps im2col (the transforms cost more than they save there).
    public static let automaticMinimumChannels = 16
    /// Smallest map side on which `automatic` uses F(4x4) rather than F(2x2).
    public static let automaticF4MinimumSide = 4

    /// Parses `auto`, `measure`, `im2col`, `winograd-f2`, `winograd-f4`, or a comma-separated list of the last three
    /// with one entry per conv layer.
    public init(parsing text: String) throws(ConvolutionPolicyError) {
        switch text {
        case "auto": self = .automatic
        case "measure": self = .measured
        default:
            let names = text.split(separator: ",").map { String($0).filter { $0 != " " } }
            var algorithms: [ConvolutionAlgorithm] = []
            for name in names {
                guard let algorithm = ConvolutionAlgorithm(rawValue: name) else {
                    throw ConvolutionPolicyError(description: "unknown convolution algorithm \"\(name)\": choose auto, measure, "
                        + ConvolutionAlgorithm.allCases.map(\.rawValue).joined(separator: ", ") + " or a comma list of these, one per conv layer")
                }
                algorithms.append(algorithm)
            }
            self = algorithms.count == 1 ? .everywhere(algorithms[0]) : .perLayer(algorithms)
        }
    }

    /// The algorithm of each conv layer of `architecture` under this policy; `measured` times each candidate at
    /// `batch` images (see `ConvolutionTimer`). Throws when a per-layer list does not fit the architecture.
    public func algorithms(for architecture: Architecture, batch: Int = 100) throws(ConvolutionPolicyError)
        -> [ConvolutionAlgorithm]
    {
        let blocks = architecture.blocks
        var inputChannels = architecture.inputChannels
        var shapes: [(channels: Int, side: Int)] = []
        for block in blocks { shapes.append((inputChannels, block.side)); inputChannels = block.filters }
        switch self {
        case .automatic:
            return shapes.map { shape in
                if shape.channels < Self.automaticMinimumChannels { return .im2col }
                if shape.side >= Self.automaticF4MinimumSide && ConvolutionAlgorithm.winogradF4.supports(side: shape.side) {
                    return .winogradF4
                }
                return ConvolutionAlgorithm.winogradF2.supports(side: shape.side) ? .winogradF2 : .im2col
            }
        case .measured:
            return ConvolutionTimer.measure(architecture: architecture, batch: batch).map(\.fastest)
        case .everywhere(let algorithm):
            return shapes.map { algorithm.supports(side: $0.side) ? algorithm : .im2col }
        case .perLayer(let algorithms):
            guard algorithms.count == blocks.count else {
                throw ConvolutionPolicyError(description: "\(algorithms.count) convolution algorithms given for "
                    + "\(blocks.count) conv layers: give one per layer, or one for all")
            }
            for (index, (algorithm, shape)) in zip(algorithms, shapes).enumerated() where !algorithm.supports(side: shape.side) {
                throw ConvolutionPolicyError(description: "\(algorithm.rawValue) cannot tile conv\(index + 1)'s "
                    + "\(shape.side)x\(shape.side) maps: use im2col or winograd-f2 there")
            }
            return algorithms
        }
    }
}

extension ConvolutionAlgorithm {
    /// The algorithms a run configuration recorded (`RunConfiguration.convolutionAlgorithms`) for the conv layers of
    /// `architecture`; im2col for every layer when none were recorded (runs made before the choice existed).
    public static func recorded(_ names: [String]?, for architecture: Architecture) throws(ConvolutionPolicyError)
        -> [ConvolutionAlgorithm]
    {
        guard let names else { return Array(repeating: .im2col, count: architecture.convolutionCount) }
        return try ConvolutionPolicy(parsing: names.joined(separator: ",")).algorithms(for: architecture)
    }
}

/// Why a convolution policy was rejected, in words.
public struct ConvolutionPolicyError: Error, CustomStringConvertible, Equatable, Sendable {
    public let description: String
}

/// Times each conv layer's forward and backward (weight and input gradient) under every algorithm that can run it,
/// on random data at the layer's real shape.
public enum ConvolutionTimer {
    /// One conv layer's median seconds per algorithm.
    public struct LayerTimes: Sendable {
        /// 1-based conv layer.
        public var layer: Int
        /// Input channels C, filters F, map side H = W.
        public var channels: Int, filters: Int, side: Int
        /// Median seconds of forward + backward per algorithm, in `ConvolutionAlgorithm.allCases` order, for the
        /// algorithms that can run the layer.
        public var seconds: [(algorithm: ConvolutionAlgorithm, forward: Double, backward: Double)]
        /// The algorithm with the smallest forward + backward time.
        public var fastest: ConvolutionAlgorithm {
            seconds.min { $0.forward + $0.backward < $1.forward + $1.backward }!.algorithm
        }
    }

    /// Median of `iterations` timed forward/backward pairs (after one untimed pair) of every layer of
    /// `architecture` at `batch` images, for every algorithm that supports the layer.
    public static func measure(architecture: Architecture, batch: Int, iterations: Int = 3, seed: UInt64 = 1)
        -> [LayerTimes]
    {
        var generator = SeededGenerator(seed: seed)
        var channels = architecture.inputChannels
        var result: [LayerTimes] = []
        for (index, block) in architecture.blocks.enumerated() {
            let (c, f, s) = (channels, block.filters, block.side)
            let input = FloatBuffer(count: c * batch * s * s), gradOutput = FloatBuffer(count: f * batch * s * s)
            let weight = FloatBuffer(count: f * c * 9), gradWeight = FloatBuffer(count: f * c * 9)
            let output = FloatBuffer(count: f * batch * s * s), gradInput = FloatBuffer(count: c * batch * s * s)
            for buffer in [input, gradOutput, weight] {
                for i in 0..<buffer.count { buffer[i] = generator.nextUniform(-1, 1) }
            }
            var times = LayerTimes(layer: index + 1, channels: c, filters: f, side: s, seconds: [])
            for algorithm in ConvolutionAlgorithm.allCases where algorithm.supports(side: s) {
                let kernel = ConvolutionKernel(algorithm: algorithm, channels: c, filters: f, side: s)
                let scratch = ConvolutionScratch(kernels: [kernel], batch: batch, colBudget: Network.defaultColBudget,
                                                 tileBudget: Network.defaultTileBudget)
                var forward: [Double] = [], backward: [Double] = []
                for iteration in 0...iterations {
                    let start = DispatchTime.now().uptimeNanoseconds
                    kernel.forward(input: input.pointer, weight: weight.pointer, output: output.pointer, batch: batch,
                                   scratch: scratch)
                    let middle = DispatchTime.now().uptimeNanoseconds
                    kernel.backward(input: input.pointer, weight: weight.pointer, gradOutput: gradOutput.pointer,
                                    gradWeight: gradWeight.pointer, gradInput: index == 0 ? nil : gradInput.pointer,
                                    batch: batch, scratch: scratch)
                    let end = DispatchTime.now().uptimeNanoseconds
                    if iteration > 0 {
                        forward.append(Double(middle - start) / 1e9)
                        backward.append(Double(end - middle) / 1e9)
                    }
                }
                times.seconds.append((algorithm, Statistics.median(forward), Statistics.median(backward)))
            }
            result.append(times)
            channels = f
        }
        return result
    }
}

/// The scratch buffers of a network's convolutions, shared by its layers (one layer runs at a time).
final class ConvolutionScratch {
    /// im2col columns: C*9 x (images of one chunk)*H*W.
    let col: FloatBuffer
    /// Transformed kernels of the running Winograd layer: alpha² x O x I.
    let filterTransforms: FloatBuffer
    /// Weight gradient in the Winograd domain, summed over chunks: alpha² x F x C.
    let filterGradient: FloatBuffer
    /// Input transforms of one chunk, alpha² x channels x tiles, and their products (same size).
    let tilesV: FloatBuffer, tilesM: FloatBuffer

    /// Scratch for `kernels` at up to `batch` images: im2col chunks capped at `colBudget` Floats and each tile
    /// buffer at `tileBudget` Floats, but always at least one image of the largest layer.
    init(kernels: [ConvolutionKernel], batch: Int, colBudget: Int, tileBudget: Int) {
        let (colCapacity, filterCapacity, tileCapacity) = Self.capacities(kernels: kernels, batch: batch, colBudget: colBudget,
                                                                          tileBudget: tileBudget)
        col = FloatBuffer(count: colCapacity)
        filterTransforms = FloatBuffer(count: filterCapacity)
        filterGradient = FloatBuffer(count: filterCapacity)
        tilesV = FloatBuffer(count: tileCapacity)
        tilesM = FloatBuffer(count: tileCapacity)
    }

    /// The Floats of `col`, of each of `filterTransforms` and `filterGradient`, and of each of `tilesV` and `tilesM`.
    static func capacities(kernels: [ConvolutionKernel], batch: Int, colBudget: Int, tileBudget: Int)
        -> (col: Int, filter: Int, tile: Int)
    {
        var colCapacity = 1, filterCapacity = 1, tileCapacity = 1
        for kernel in kernels {
            let (c, f, s) = (kernel.channels, kernel.filters, kernel.side)
            if let transform = kernel.transform {
                let perImage = transform.imageTileFloats(channels: c, filters: f, height: s, width: s)
                filterCapacity = max(filterCapacity, transform.positions * f * c)
                tileCapacity = max(tileCapacity, min(perImage * batch, max(perImage, tileBudget)))
            } else {
                colCapacity = max(colCapacity, min(c * 9 * s * s * batch, max(c * 9 * s * s, colBudget)))
            }
        }
        return (colCapacity, filterCapacity, tileCapacity)
    }

    /// Bytes of the scratch for `kernels` at `batch` images.
    static func bytes(kernels: [ConvolutionKernel], batch: Int, colBudget: Int, tileBudget: Int) -> Int {
        let (col, filter, tile) = capacities(kernels: kernels, batch: batch, colBudget: colBudget, tileBudget: tileBudget)
        return MemoryLayout<Float>.size * (col + 2 * filter + 2 * tile)
    }
}

/// One conv layer's 3x3 convolution under its algorithm: the forward/backward pair the network and the timer
/// call. Shapes: input C x N x H x W, weight F x C x 3 x 3, output F x N x H x W (N <= the scratch's batch).
struct ConvolutionKernel: Sendable {
    let algorithm: ConvolutionAlgorithm
    /// Input channels C, filters F, map side H = W.
    let channels: Int, filters: Int, side: Int
    /// The Winograd transform, nil for im2col.
    let transform: WinogradTransform?

    init(algorithm: ConvolutionAlgorithm, channels: Int, filters: Int, side: Int) {
        precondition(algorithm.supports(side: side), "\(algorithm.rawValue) cannot tile \(side)x\(side) maps")
        self.algorithm = algorithm
        self.channels = channels
        self.filters = filters
        self.side = side
        transform = WinogradTransform(algorithm)
    }

    /// Floats of the transformed kernels, alpha² x F x C (Winograd; 0 for im2col).
    var filterTransformFloats: Int { transform.map { $0.positions * filters * channels } ?? 0 }

    /// Transforms `weight` (F x C x 3 x 3) into `u` (`filterTransformFloats` Floats) as `forward` would.
    func transformFilters(_ weight: UnsafePointer<Float>, into u: UnsafeMutablePointer<Float>) {
        guard let transform else { preconditionFailure("im2col has no filter transform") }
        Layers.winogradFilterTransform(weight: weight, filters: filters, channels: channels, transform: transform,
                                       u: u)
    }

    /// Floats of the input transforms of `batch` images (Winograd; 0 for im2col), kept from a training forward
    /// for the backward (`keepInputTiles`).
    func inputTileFloats(batch: Int) -> Int {
        transform.map { $0.tileFloats(height: side, width: side) * channels * batch } ?? 0
    }

    /// output = conv3x3(input, weight); with `affineReLU` (Winograd only), ReLU(scale * conv + shift) per filter;
    /// with `keepInputTiles` (Winograd only, `inputTileFloats(batch:)` Floats), the input transforms stay there for
    /// `backward`; with `transformedFilters` (Winograd only, `filterTransformFloats` Floats), the kernels' transforms
    /// of `weight` are read from there instead of being computed.
    func forward(input: UnsafePointer<Float>, weight: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>,
                 batch: Int, scratch: ConvolutionScratch, affineReLU: Layers.AffineReLU? = nil,
                 keepInputTiles: UnsafeMutablePointer<Float>? = nil, transformedFilters: UnsafePointer<Float>? = nil) {
        if let transform, let transformedFilters {
            Layers.winogradConvolutionForward(input: input, transformedFilters: transformedFilters, output: output,
                                              channels: channels, filters: filters, batch: batch, height: side,
                                              width: side, transform: transform, tilesV: scratch.tilesV.pointer,
                                              tilesM: scratch.tilesM.pointer, tileCapacity: scratch.tilesV.count,
                                              affineReLU: affineReLU, keepInputTiles: keepInputTiles)
        } else if let transform {
            Layers.winogradConvolutionForward(input: input, weight: weight, output: output, channels: channels,
                                              filters: filters, batch: batch, height: side, width: side,
                                              transform: transform, u: scratch.filterTransforms.pointer,
                                              tilesV: scratch.tilesV.pointer, tilesM: scratch.tilesM.pointer,
                                              tileCapacity: scratch.tilesV.count, affineReLU: affineReLU,
                                              keepInputTiles: keepInputTiles)
        } else {
            precondition(affineReLU == nil && keepInputTiles == nil && transformedFilters == nil,
                         "im2col has no Winograd epilogue, tiles or transformed filters")
            Layers.convolutionForward(input: input, weight: weight, output: output, channels: channels,
                                      filters: filters, batch: batch, height: side, width: side,
                                      col: scratch.col.pointer, colCapacity: scratch.col.count)
        }
    }

    /// gradWeight (overwritten) and, when given, gradInput (overwritten) from gradOutput (F x N x H x W);
    /// `keptInputTiles`: the last forward's `keepInputTiles` of this input.
    func backward(input: UnsafePointer<Float>, weight: UnsafePointer<Float>, gradOutput: UnsafePointer<Float>,
                  gradWeight: UnsafeMutablePointer<Float>, gradInput: UnsafeMutablePointer<Float>?,
                  batch: Int, scratch: ConvolutionScratch, keptInputTiles: UnsafePointer<Float>? = nil) {
        if let transform {
            Layers.winogradConvolutionBackward(input: input, weight: weight, gradOutput: gradOutput,
                                               gradWeight: gradWeight, gradInput: gradInput, channels: channels,
                                               filters: filters, batch: batch, height: side, width: side,
                                               transform: transform, u: scratch.filterTransforms.pointer,
                                               du: scratch.filterGradient.pointer, tilesV: scratch.tilesV.pointer,
                                               tilesM: scratch.tilesM.pointer, tileCapacity: scratch.tilesV.count,
                                               keptInputTiles: keptInputTiles)
        } else {
            Layers.convolutionBackward(input: input, weight: weight, gradOutput: gradOutput, gradWeight: gradWeight,
                                       gradInput: gradInput, channels: channels, filters: filters, batch: batch,
                                       height: side, width: side, col: scratch.col.pointer,
                                       colCapacity: scratch.col.count)
        }
    }
}

/// One Winograd layer's transformed kernels (alpha² x F x C) for inference passes, reused while the layer's weights
/// stay what they were transformed from.
///
/// Before every use the weights are compared bit for bit with the copy the transforms were made from, so any change
/// (an SGD step, a restored checkpoint, a pruning mask) recomputes them; no caller has to invalidate anything. The
/// comparison reads F x C x 9 Floats; the transform it saves does about 18 (F(2x2)) or 54 (F(4x4)) multiply-adds per
/// weight. Both buffers are allocated on first use.
final class FilterTransformCache {
    private let kernel: ConvolutionKernel
    /// The weights (F x C x 3 x 3) `transformed` was made from; nil until the first use.
    private var source: FloatBuffer?
    private var transformed: FloatBuffer?

    init(kernel: ConvolutionKernel) {
        precondition(kernel.transform != nil, "only Winograd layers transform their kernels")
        self.kernel = kernel
    }

    /// The transformed kernels of `weight` (F x C x 3 x 3), valid until the next call.
    func transforms(of weight: UnsafePointer<Float>) -> UnsafePointer<Float> {
        let count = kernel.filters * kernel.channels * 9
        if let source, let transformed, memcmp(source.pointer, weight, count * MemoryLayout<Float>.stride) == 0 {
            return UnsafePointer(transformed.pointer)
        }
        let copy = source ?? FloatBuffer(count: count)
        let result = transformed ?? FloatBuffer(count: kernel.filterTransformFloats)
        kernel.transformFilters(weight, into: result.pointer)
        copy.pointer.update(from: weight, count: count)
        source = copy
        transformed = result
        return UnsafePointer(result.pointer)
    }
}

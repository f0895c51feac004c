/// One layer of a VGG-style stack.
public enum LayerSpec: Equatable, Sendable {
    /// A 3x3 convolution (stride 1, padding 1, no bias) with `filters` output channels, then batch norm and ReLU.
    case convolution(filters: Int)
    /// A `size` x `size` max-pool with stride `size`.
    case maxPool(size: Int)
}

/// Why an architecture notation (or its head, label count or image size) was rejected.
public struct ArchitectureError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The notation as given.
    public let notation: String
    /// 1-based index of the offending token in the notation; 0 when the problem is not one token.
    public let tokenIndex: Int
    /// The offending token ("" when `tokenIndex` is 0).
    public let token: String
    /// What is wrong, in words.
    public let reason: String

    /// Creates an error pointing at token `tokenIndex` (1-based; 0 = not one token).
    public init(notation: String, tokenIndex: Int, token: String, reason: String) {
        self.notation = notation
        self.tokenIndex = tokenIndex
        self.token = token
        self.reason = reason
    }

    /// E.g. `bad token "6x4" (token 3) in "64 64 6x4": expected a filter count or M, M<size>`.
    public var description: String {
        if tokenIndex == 0 { return "bad architecture \"\(notation)\": \(reason)" }
        return "bad token \"\(token)\" (token \(tokenIndex)) in \"\(notation)\": \(reason)"
    }
}

/// A VGG-style network: convolution blocks written in VGG notation, then a fully connected head.
public struct Architecture: Equatable, Sendable {
    /// Notation: a number = 3x3 conv (stride 1, pad 1, no bias) + batch norm + ReLU; "M" = 2x2 max-pool stride 2;
    /// "M4" = 4x4 max-pool stride 4 (AVGG-16's pool before the head). Tokens are separated by spaces or commas.
    /// `hiddenWidths`: the hidden FC widths between the flattened last block and the label layer, with no nonlinearity
    /// between them as in [L] (empty = one FC flattened -> labels). Every FC layer has a bias.
    /// A pool must directly follow a convolution and divide the feature map's side exactly.
    public init(notation: String, hiddenWidths: [Int] = [], labelCount: Int = 10, imageSize: Int = 32, inputChannels: Int = 3)
        throws(ArchitectureError)
    {
        func fail(_ index: Int, _ token: String, _ reason: String) -> ArchitectureError {
            ArchitectureError(notation: notation, tokenIndex: index, token: token, reason: reason)
        }
        guard imageSize >= 1, inputChannels >= 1 else {
            throw fail(0, "", "image size \(imageSize) and input channels \(inputChannels) must be positive")
        }
        guard labelCount >= 2 else { throw fail(0, "", "label count \(labelCount) must be at least 2") }
        if let bad = hiddenWidths.firstIndex(where: { $0 < 1 }) {
            throw fail(0, "", "head width \(hiddenWidths[bad]) (hidden FC \(bad + 1)) must be positive")
        }
        let tokens = notation.split(whereSeparator: { $0 == " " || $0 == "," || $0 == "\t" || $0 == "\n" }).map(String.init)
        guard !tokens.isEmpty else { throw fail(0, "", "no layers: write e.g. \"64 M 128 M\"") }

        var layers: [LayerSpec] = []
        var side = imageSize
        for (offset, token) in tokens.enumerated() {
            let index = offset + 1
            if let filters = Int(token) {
                guard filters >= 1, filters <= 65_536 else { throw fail(index, token, "filter count must be in 1...65536") }
                layers.append(.convolution(filters: filters))
            } else if token.first == "M" || token.first == "m" {
                let sizeText = token.dropFirst()
                guard let size = sizeText.isEmpty ? 2 : Int(sizeText), size >= 2 else {
                    throw fail(index, token, "a pool is M (2x2) or M<size> with size >= 2, e.g. M4")
                }
                guard case .convolution = layers.last else {
                    throw fail(index, token, "a pool must directly follow a convolution")
                }
                guard side % size == 0 else {
                    throw fail(index, token, "a \(size)x\(size) pool does not divide the \(side)x\(side) feature map")
                }
                side /= size
                layers.append(.maxPool(size: size))
            } else {
                throw fail(index, token, "expected a filter count (e.g. 64), M, or M<size> (e.g. M4)")
            }
        }
        self.notation = notation
        self.layers = layers
        self.hiddenWidths = hiddenWidths
        self.labelCount = labelCount
        self.imageSize = imageSize
        self.inputChannels = inputChannels
    }

    /// The notation as given.
    public let notation: String
    /// The parsed layers, in order from the input.
    public let layers: [LayerSpec]
    /// Hidden FC widths before the label layer (empty = a single FC layer).
    public let hiddenWidths: [Int]
    /// Number of output labels.
    public let labelCount: Int
    /// Input side in pixels (images are imageSize x imageSize).
    public let imageSize: Int
    /// Input channels (3 for RGB).
    public let inputChannels: Int

    /// Number of convolutional layers L.
    public var convolutionCount: Int {
        layers.reduce(0) { count, layer in if case .convolution = layer { return count + 1 } else { return count } }
    }

    /// The convolution blocks in order: filters, input side, and the pool that follows directly (nil if none).
    public var blocks: [(filters: Int, side: Int, poolSize: Int?)] {
        var result: [(filters: Int, side: Int, poolSize: Int?)] = []
        var side = imageSize
        for layer in layers {
            switch layer {
            case .convolution(let filters): result.append((filters, side, nil))
            case .maxPool(let size):
                result[result.count - 1].poolSize = size
                side /= size
            }
        }
        return result
    }

    /// Shape (C, H, W) of conv layer l's block output (1-based l): after BN+ReLU, and after the max-pool when one
    /// follows it directly.
    public func blockOutputShape(layer: Int) -> (channels: Int, height: Int, width: Int) {
        let all = blocks
        precondition(layer >= 1 && layer <= all.count, "layer \(layer) out of 1...\(all.count)")
        let block = all[layer - 1]
        let side = block.side / (block.poolSize ?? 1)
        return (block.filters, side, side)
    }

    /// Length C*H*W of the flattened last block output, the input of the head.
    public var flattenedSize: Int {
        let shape = blockOutputShape(layer: convolutionCount)
        return shape.channels * shape.height * shape.width
    }

    /// Widths of the FC layers in order: head widths, then the label count.
    public var fullyConnectedWidths: [Int] { hiddenWidths + [labelCount] }

    /// Named notations: "vgg16", "vgg6", "avgg16" per method.md, "small" (the quick default), "tiny" (fast tests).
    /// The one table of preset architectures: Training's `Preset` adds each one's recipe.
    public static let presets: [String: String] = [
        "small": "16 16 M 32 32 M",
        "vgg16": "64 64 M 128 128 M 256 256 256 M 512 512 512 M 512 512 512 M",
        "vgg6": "64 64 M 128 128 M 256 256 M",
        "avgg16": "64 64 M 128 128 M 256 256 256 M 512 512 512 512 512 512 M4",
        "tiny": "8 M 16 M",
    ]

    /// The preset `name` (see `presets`) with the default head, 10 labels, 32x32x3 input.
    public static func preset(_ name: String) throws(ArchitectureError) -> Architecture {
        guard let notation = presets[name.lowercased()] else {
            throw ArchitectureError(notation: name, tokenIndex: 0, token: "",
                                    reason: "unknown preset; known: \(presets.keys.sorted().joined(separator: ", "))")
        }
        return try Architecture(notation: notation)
    }
}

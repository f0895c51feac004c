import Engine
import RunStore

/// A named model with its default recipe: what `--preset` selects.
public struct Preset: Sendable {
    /// Name on the command line.
    public let name: String
    /// One-line description for `--help`.
    public let summary: String
    /// Architecture in VGG notation (`Architecture.presets[name]`, the one table of preset architectures).
    public var notation: String { Architecture.presets[name]! }
    /// Phase 1 epochs.
    public let epochs: Int
    /// Epochs between learning-rate decays (dt; the factor q stays 0.6).
    public let decayEvery: Int
    /// Batches of learning-rate warm-up.
    public let warmupBatches: Int
    /// Training and test images used (nil: the whole split).
    public let trainImages: Int?, testImages: Int?
    /// Phase 2 epochs.
    public let probeEpochs: Int

    /// All presets, in the order `--help` lists them.
    public static let all: [Preset] = [
        Preset(name: "small", summary: "4-conv VGG on 10,000 images, 3 epochs: the quick default (a few minutes)",
               epochs: 3, decayEvery: 1, warmupBatches: 100,
               trainImages: 10_000, testImages: 2_000, probeEpochs: 2),
        Preset(name: "tiny", summary: "2-conv network on 500 images, 1 epoch: for tests",
               epochs: 1, decayEvery: 1, warmupBatches: 0,
               trainImages: 500, testImages: 200, probeEpochs: 1),
        Preset(name: "vgg6", summary: "VGG-6 (6 convolutions), 12 epochs with x0.6 every 2: the reference run of method.md",
               epochs: 12, decayEvery: 2, warmupBatches: 500,
               trainImages: nil, testImages: nil, probeEpochs: 4),
        Preset(name: "vgg16", summary: "VGG-16 (13 convolutions), 60 epochs with x0.6 every 10",
               epochs: 60, decayEvery: 10,
               warmupBatches: 500, trainImages: nil, testImages: nil, probeEpochs: 4),
        Preset(name: "avgg16", summary: "AVGG-16: VGG-16's convolutions with the last pooling next to the output (4x4)",
               epochs: 60, decayEvery: 10,
               warmupBatches: 500, trainImages: nil, testImages: nil, probeEpochs: 4),
    ]

    /// The preset called `name`, or nil.
    public static func named(_ name: String) -> Preset? {
        all.first { $0.name == name }
    }

    /// The run configuration of this preset with everything else at its default.
    public func configuration(seed: UInt64 = 1) -> RunConfiguration {
        RunConfiguration(preset: name, notation: notation, epochs: epochs, learningRateDecayEvery: decayEvery,
                         warmupBatches: warmupBatches, seed: seed, trainImages: trainImages ?? 50_000,
                         testImages: testImages ?? 10_000, probe: ProbeConfiguration(epochs: probeEpochs))
    }
}

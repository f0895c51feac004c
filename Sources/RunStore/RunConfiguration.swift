/// Everything that determines a run: architecture, phase 1 recipe, phase 2 recipe, data and seed.
///
/// Stored in `run.h5` as attributes of `/config` (one per field, for h5dump and HDFView readers) and as the JSON
/// attribute `/config@json` (what FilterLens reads back).
public struct RunConfiguration: Codable, Equatable, Sendable {
    /// Preset name ("vgg6", "vgg16", "avgg16", "tiny", "small") or "custom".
    public var preset: String
    /// The architecture in VGG notation, exactly as trained (e.g. "64 64 M 128 128 M 256 256 M").
    public var notation: String
    /// Hidden FC widths between the last block and the label layer (empty: one FC layer): `Architecture.hiddenWidths`,
    /// stored as `head` in run.h5 (`--head`); not phase 2's probes (probe.h5), which version 1 of the layout called heads too.
    public var head: [Int]
    /// Number of labels.
    public var labelCount: Int
    /// Phase 1 epochs.
    public var epochs: Int
    /// Phase 1 mini-batch size.
    public var batchSize: Int
    /// Phase 1 starting learning rate.
    public var learningRate: Double
    /// Phase 1 Nesterov momentum.
    public var momentum: Double
    /// Phase 1 L2 weight decay.
    public var weightDecay: Double
    /// The learning rate is multiplied by this factor every `learningRateDecayEvery` epochs (q).
    public var learningRateDecayFactor: Double
    /// Epochs between learning-rate decays (dt).
    public var learningRateDecayEvery: Int
    /// Batches of linear learning-rate warm-up at the start of phase 1.
    public var warmupBatches: Int
    /// Random horizontal flip and -4...+4 pixel shifts during training.
    public var augment: Bool
    /// Seed of initialization, shuffling and augmentation.
    public var seed: UInt64
    /// Training images used (the first N of the training split).
    public var trainImages: Int
    /// Test images used (the first N of the test split).
    public var testImages: Int
    /// The data set's name for reports, e.g. "CIFAR-10 (JPEG copy)".
    public var dataset: String
    /// Where the binary batches were read from.
    public var dataDirectory: String
    /// The binary layout read: "cifar-10" or "cifar-100" (nil in runs made before it was recorded: CIFAR-10).
    public var dataFormat: String?
    /// CIFAR-100's label set, "fine" or "coarse" (nil for CIFAR-10).
    public var labelSet: String?
    /// The data set's labels the run uses, in the run's label order: run label i is data-set label `labels[i]`
    /// (nil: all of them, 0 ..< labelCount; runs made before label subsets).
    public var labels: [Int]?
    /// MD5 of the archive the data were prepared from, as `data prepare` recorded it (nil: not recorded).
    public var dataMD5: String?
    /// Phase 2 recipe.
    public var probe: ProbeConfiguration
    /// The learning-rate schedule after the warm-up (`LearningRateSchedule`); nil in runs made before the choice
    /// existed, which used the step schedule.
    public var learningRateSchedule: LearningRateSchedule?
    /// The convolution algorithm of each conv layer ("im2col", "winograd-f2", "winograd-f4"), as trained; nil in
    /// runs made before FilterLens had a choice (they used im2col).
    public var convolutionAlgorithms: [String]?
    /// How phase 1 drew the convolution weights: the raw value of the engine's `ConvolutionInitialization`,
    /// "pytorch-default" ([L]'s: uniform in +-1/sqrt(C*9)) or "he-normal"; nil in runs made before the choice was
    /// recorded, which used "he-normal" (`convolutionInitializationUsed`).
    public var convolutionInitialization: String?
    /// What the training shift puts in the pixels it uncovers (phases 1, 2 and pruning's retraining); nil in runs made
    /// before the choice was recorded, which filled black (`shiftFillUsed`).
    public var shiftFill: ShiftFill?

    public init(preset: String, notation: String, head: [Int] = [], labelCount: Int = 10, epochs: Int, batchSize: Int = 100,
                learningRate: Double = 0.05, momentum: Double = 0.9, weightDecay: Double = 5e-4,
                learningRateDecayFactor: Double = 0.6, learningRateDecayEvery: Int = 20, warmupBatches: Int = 500,
                augment: Bool = true, seed: UInt64 = 1, trainImages: Int = 50_000, testImages: Int = 10_000,
                dataset: String = "CIFAR-10", dataDirectory: String = "", probe: ProbeConfiguration = ProbeConfiguration(),
                convolutionAlgorithms: [String]? = nil, convolutionInitialization: String? = "pytorch-default",
                shiftFill: ShiftFill? = .zero) {
        self.preset = preset
        self.notation = notation
        self.head = head
        self.labelCount = labelCount
        self.epochs = epochs
        self.batchSize = batchSize
        self.learningRate = learningRate
        self.momentum = momentum
        self.weightDecay = weightDecay
        self.learningRateDecayFactor = learningRateDecayFactor
        self.learningRateDecayEvery = learningRateDecayEvery
        self.warmupBatches = warmupBatches
        self.augment = augment
        self.seed = seed
        self.trainImages = trainImages
        self.testImages = testImages
        self.dataset = dataset
        self.dataDirectory = dataDirectory
        self.probe = probe
        self.convolutionAlgorithms = convolutionAlgorithms
        self.convolutionInitialization = convolutionInitialization
        self.shiftFill = shiftFill
    }

    /// The convolution initialization the run used: as recorded, else "he-normal" (every run before the choice).
    public var convolutionInitializationUsed: String { convolutionInitialization ?? "he-normal" }

    /// The shift fill the run used: as recorded, else `ShiftFill.beforeRecording` (black).
    public var shiftFillUsed: ShiftFill { shiftFill ?? .beforeRecording }

    /// Phase 1's recipe in words, as the report and the training log show it: "30 epochs, batch 100, lr 0.05 cosine
    /// down to 0, warm-up 500 batches, momentum 0.9 (Nesterov), weight decay 0.0005, augmentation flip + shift 4
    /// (zero fill), convolutions initialized pytorch-default".
    public var recipeDescription: String {
        let schedule = (learningRateSchedule ?? .step) == .step ? "x\(learningRateDecayFactor) every \(learningRateDecayEvery) epochs"
            : "\(learningRateSchedule!.rawValue) down to 0"
        return "\(epochs) epochs, batch \(batchSize), lr \(learningRate) \(schedule), warm-up \(warmupBatches) batches, "
            + "momentum \(momentum) (Nesterov), weight decay \(weightDecay), "
            + "augmentation \(augment ? "flip + shift 4 (\(shiftFillUsed.rawValue) fill)" : "none"), "
            + "convolutions initialized \(convolutionInitializationUsed)"
    }

    /// The data-set labels the run uses, in order (all `labelCount` when `labels` is nil).
    public var sourceLabels: [Int] { labels ?? Array(0..<labelCount) }

    /// The phase 1 learning rate of batch `batch` (0-based, counted over the whole run) in epoch `epoch` (0-based)
    /// of a run of `epochs` x `batchesPerEpoch` batches: linear warm-up over `warmupBatches`, then the schedule
    /// (`LearningRateSchedule`; the step schedule ignores `batchesPerEpoch`).
    public func learningRate(epoch: Int, batch: Int, batchesPerEpoch: Int = 1) -> Double {
        var rate = learningRate
        switch learningRateSchedule ?? .step {
        case .step:
            let steps = learningRateDecayEvery > 0 ? epoch / learningRateDecayEvery : 0
            for _ in 0..<steps { rate *= learningRateDecayFactor }
        case .cosine, .linear:
            let total = max(epochs * batchesPerEpoch - warmupBatches, 1)
            let progress = min(max(Double(batch - warmupBatches) / Double(total), 0), 1)
            let pi = 3.141592653589793
            rate *= learningRateSchedule == .linear ? 1 - progress : 0.5 * (1 + _cosine(pi * progress))
        }
        if warmupBatches > 0 && batch < warmupBatches {
            rate *= Double(batch + 1) / Double(warmupBatches)
        }
        return rate
    }
}

/// How phase 1's learning rate moves after the linear warm-up.
public enum LearningRateSchedule: String, Codable, CaseIterable, Sendable {
    /// Multiplied by q (`learningRateDecayFactor`) every dt (`learningRateDecayEvery`) epochs ([L]'s schedule).
    case step
    /// Cosine from the starting rate down to 0 at the last batch.
    case cosine
    /// Linear from the starting rate down to 0 at the last batch (with the warm-up: a one-cycle schedule).
    case linear
}

/// What the training augmentation's shift of -4..+4 pixels puts in the pixels it uncovers.
public enum ShiftFill: String, Codable, CaseIterable, Sendable {
    /// Input value 0, mid-grey after the scaling x / 255 * 2 - 1: [L]'s `Data_Augmentation.py`, which shifts the
    /// scaled images and zeroes what is uncovered.
    case zero
    /// Input value -1, black (pixel 0 scaled), as torchvision's padded random crop does; every run FilterLens made
    /// before the choice was recorded.
    case black

    /// What runs made before the choice was recorded used.
    public static let beforeRecording = ShiftFill.black

    /// The network input value of an uncovered pixel.
    public var inputValue: Float {
        switch self {
        case .zero: 0
        case .black: -1
        }
    }
}

/// Phase 2's recipe for the FC heads on frozen layers (method.md, after [L]).
public struct ProbeConfiguration: Codable, Equatable, Sendable {
    /// Epochs of head training.
    public var epochs: Int
    /// Starting learning rate.
    public var learningRate: Double
    /// The learning rate is multiplied by this factor after every epoch.
    public var learningRateDecay: Double
    /// Nesterov momentum.
    public var momentum: Double
    /// L2 weight decay.
    public var weightDecay: Double
    /// Mini-batch size.
    public var batchSize: Int
    /// Train with the training augmentation (flip and shift).
    public var augment: Bool
    /// Starting learning rate of each layer's head (index 0 = layer 1), replacing `learningRate` per layer; nil: every
    /// head starts at `learningRate`. (A head on 65,536 inputs needs a smaller rate than one on 4,096: method.md.)
    public var layerLearningRates: [Double]?

    public init(epochs: Int = 4, learningRate: Double = 0.01, learningRateDecay: Double = 0.975, momentum: Double = 0.975,
                weightDecay: Double = 1e-3, batchSize: Int = 100, augment: Bool = true, layerLearningRates: [Double]? = nil) {
        self.epochs = epochs
        self.learningRate = learningRate
        self.learningRateDecay = learningRateDecay
        self.momentum = momentum
        self.weightDecay = weightDecay
        self.batchSize = batchSize
        self.augment = augment
        self.layerLearningRates = layerLearningRates
    }

    /// Starting learning rate of the head of `layer` (1-based).
    public func startingRate(layer: Int) -> Double {
        layerLearningRates.map { $0[layer - 1] } ?? learningRate
    }

    /// The learning rate of `layer`'s head in epoch `epoch` (0-based): its starting rate times decay^epoch.
    public func learningRate(layer: Int, epoch: Int) -> Double {
        startingRate(layer: layer) * pow(learningRateDecay, Double(epoch))
    }

    /// The starting rates as one phrase: "0.01", or "0.001, 0.001, 0.01, ..." per layer.
    public var startingRatesDescription: String {
        layerLearningRates.map { $0.map { "\($0)" }.joined(separator: ", ") + " (per layer)" } ?? "\(learningRate)"
    }

    /// The settings in which `other` differs from this recipe, each as "name: this vs other" (empty when equal).
    public func differences(from other: ProbeConfiguration) -> [String] {
        let pairs: [(String, String, String)] = [
            ("epochs", "\(epochs)", "\(other.epochs)"),
            ("learning rate", "\(learningRate)", "\(other.learningRate)"),
            ("learning-rate decay", "\(learningRateDecay)", "\(other.learningRateDecay)"),
            ("momentum", "\(momentum)", "\(other.momentum)"),
            ("weight decay", "\(weightDecay)", "\(other.weightDecay)"),
            ("batch size", "\(batchSize)", "\(other.batchSize)"),
            ("augmentation", "\(augment)", "\(other.augment)"),
            ("per-layer learning rates", "\(layerLearningRates ?? [])", "\(other.layerLearningRates ?? [])"),
        ]
        return pairs.filter { $0.1 != $0.2 }.map { "\($0.0): \($0.1) vs \($0.2)" }
    }
}

/// One epoch of phase 1 training.
public struct EpochMetrics: Codable, Equatable, Sendable {
    /// 1-based epoch number.
    public var epoch: Int
    /// Learning rate at the epoch's last batch.
    public var learningRate: Double
    /// Mean training cross-entropy over the epoch's batches.
    public var trainLoss: Double
    /// Training success rate over the epoch (with augmentation, training-mode batch norm).
    public var trainSR: Double
    /// Test cross-entropy.
    public var testLoss: Double
    /// Test success rate.
    public var testSR: Double
    /// Wall time of the epoch, seconds (training and test).
    public var seconds: Double
    /// Training images per second.
    public var imagesPerSecond: Double

    public init(epoch: Int, learningRate: Double, trainLoss: Double, trainSR: Double, testLoss: Double, testSR: Double,
                seconds: Double, imagesPerSecond: Double) {
        self.epoch = epoch
        self.learningRate = learningRate
        self.trainLoss = trainLoss
        self.trainSR = trainSR
        self.testLoss = testLoss
        self.testSR = testSR
        self.seconds = seconds
        self.imagesPerSecond = imagesPerSecond
    }
}

/// One epoch of one phase 2 head.
public struct ProbeEpoch: Codable, Equatable, Sendable {
    /// 1-based epoch number.
    public var epoch: Int
    /// Mean training cross-entropy of the head over the epoch.
    public var trainLoss: Double
    /// Test success rate of the head after the epoch.
    public var testSR: Double

    public init(epoch: Int, trainLoss: Double, testSR: Double) {
        self.epoch = epoch
        self.trainLoss = trainLoss
        self.testSR = testSR
    }
}

#if canImport(Glibc)
import Glibc
@inline(__always) private func _cosine(_ x: Double) -> Double { cos(x) }
#else
import Foundation
@inline(__always) private func _cosine(_ x: Double) -> Double { cos(x) }
#endif

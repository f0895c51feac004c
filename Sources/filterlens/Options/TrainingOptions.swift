import ArgumentParser
import CIFAR
import Engine
import Foundation
import Pipeline
import RunStore
import Training

extension LearningRateSchedule: ExpressibleByArgument {}
extension LabelSet: ExpressibleByArgument {}
extension DatasetFormat: ExpressibleByArgument {}
extension ConvolutionInitialization: ExpressibleByArgument {}
extension ShiftFill: ExpressibleByArgument {}

/// `--conv-algorithm`'s value, parsed once (ArgumentParser shows the error with the flag).
func parseConvolutionPolicy(_ text: String) throws -> ConvolutionPolicy {
    do {
        return try ConvolutionPolicy(parsing: text)
    } catch {
        throw ValidationError(error.description)
    }
}

/// Options that define phase 1 of a run (shared by `train`, `run` and `sweep-labels`).
struct TrainingOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Model and recipe preset: \(Preset.all.map(\.name).joined(separator: ", ")).",
                               discussion: Preset.all.map { "\($0.name): \($0.summary)" }.joined(separator: "\n")))
    var preset = "small"

    @Option(name: .customLong("arch"), help: "Architecture in VGG notation, replacing the preset's (e.g. \"64 64 M 128 128 M\"; M = 2x2 max-pool, M4 = 4x4).")
    var notation: String?

    @Option(help: "Hidden FC widths of the head, comma-separated (default: none, one FC layer to the labels).")
    var head: String?

    @Option(help: "Epochs of phase 1 (default: the preset's).")
    var epochs: Int?

    @Option(help: "Use the first N training images (default: the preset's, else all 50,000).")
    var subset: Int?

    @Option(help: "Use the first N test images (default: the preset's, else all 10,000).")
    var testSubset: Int?

    @Option(help: "Mini-batch size.")
    var batch = 100

    @Option(help: "Starting learning rate.")
    var lr = 0.05

    @Option(help: "Nesterov momentum.")
    var momentum = 0.9

    @Option(help: "L2 weight decay.")
    var weightDecay = 5e-4

    @Option(help: "Learning-rate factor q applied every --lr-decay-every epochs.")
    var lrDecay = 0.6

    @Option(help: "Epochs between learning-rate decays, dt (default: the preset's).")
    var lrDecayEvery: Int?

    @Option(help: "Batches of linear learning-rate warm-up (default: the preset's).")
    var warmup: Int?

    @Option(help: ArgumentHelp("Learning-rate schedule after the warm-up: step (x q every dt epochs, the default), cosine or linear (both down to 0 at the last batch).",
                               valueName: "schedule"))
    var schedule = LearningRateSchedule.step

    @Flag(help: "Train without flip and shift augmentation.")
    var noAugment = false

    @Option(help: ArgumentHelp("What the shift puts in the pixels it uncovers: zero (input 0, mid-grey, as [L] does; the default) or black (input -1, as torchvision's padded crop; FilterLens runs before 2026-12-07). Phase 2 and pruning's retraining use the run's choice.",
                               valueName: "fill"))
    var shiftFill = ShiftFill.zero

    @Option(name: .customLong("conv-init"),
            help: ArgumentHelp("How the convolution weights are drawn: pytorch-default (uniform in +-1/sqrt(C*9), nn.Conv2d's default, as [L] keeps it; the default) or he-normal (std sqrt(2/(C*9)); FilterLens runs before 2026-12-07).",
                               valueName: "init"))
    var convolutionInitialization = ConvolutionInitialization.pytorchDefault

    @Option(help: "Seed of initialization, shuffling and augmentation.")
    var seed: UInt64 = 1

    @Option(help: "Folder with the binary files of CIFAR-10 (cifar-10-batches-bin) or CIFAR-100 (cifar-100-binary), or their parent.")
    var data = DefaultPaths.data

    @Option(name: .customLong("conv-algorithm"),
            help: ArgumentHelp("Convolution algorithm: auto (the engine's rule), measure (fastest per layer on this machine), im2col, winograd-f2, winograd-f4, or one per conv layer, comma-separated.",
                               valueName: "algorithm"),
            transform: parseConvolutionPolicy)
    var convolutionPolicy = ConvolutionPolicy.automatic

    @Option(help: "Labels to train on: K (the first K labels) or a list like 0,3,5 (those labels, in that order); default all. The choice holds for every phase and is recorded in run.h5 with the labels' names.")
    var labels: String?

    @Option(help: "CIFAR-100's label set: fine (100 labels) or coarse (20 superclasses). Selects CIFAR-100 under --data.")
    var labelSet: LabelSet?

    func validate() throws {
        guard Preset.named(preset) != nil else {
            throw ValidationError("unknown preset \"\(preset)\"; choose one of \(Preset.all.map(\.name).joined(separator: ", "))")
        }
        for (name, value) in [("--epochs", epochs), ("--subset", subset), ("--test-subset", testSubset), ("--batch", batch)] {
            if let value, value < 1 { throw ValidationError("\(name) must be at least 1, got \(value)") }
        }
        for (name, value) in [("--lr", lr), ("--weight-decay", weightDecay), ("--lr-decay", lrDecay)] where !(value >= 0) || !value.isFinite {
            throw ValidationError("\(name) must be a finite number >= 0, got \(value)")
        }
        guard momentum >= 0 && momentum < 1 else { throw ValidationError("--momentum must be in [0, 1), got \(momentum)") }
        if let lrDecayEvery, lrDecayEvery < 1 { throw ValidationError("--lr-decay-every must be at least 1") }
        if let warmup, warmup < 0 { throw ValidationError("--warmup must be >= 0") }
        if let labels {
            // The syntax here; the range once the data set (10, 20 or 100 labels) is known.
            do { try LabelSelection.checkSyntax(labels) } catch { throw ValidationError(error.description) }
        }
        let architecture = try architecture()
        do {
            if convolutionPolicy != .measured { _ = try convolutionPolicy.algorithms(for: architecture) }
        } catch {
            throw ValidationError("--conv-algorithm: \(error)")
        }
    }

    /// The architecture these options describe.
    func architecture() throws -> Architecture {
        let preset = Preset.named(preset)!
        do {
            return try Architecture(notation: notation ?? preset.notation, hiddenWidths: try hiddenWidths())
        } catch {
            throw ValidationError("--arch: \(error)")
        }
    }

    /// `--head`: the hidden FC widths between the last block and the label layer.
    func hiddenWidths() throws -> [Int] {
        guard let head, !head.isEmpty else { return [] }
        return try head.split(separator: ",").map {
            guard let width = Int($0.trimmingCharacters(in: .whitespaces)), width > 0 else {
                throw ValidationError("--head: \"\($0)\" is not a positive width")
            }
            return width
        }
    }

    /// "small", ..., or "custom" with --arch.
    var presetName: String { notation == nil ? preset : "custom" }

    /// The run directory: `out`, else outputs/<preset>-seed<seed>.
    func directory(_ out: String?) -> URL {
        URL(fileURLWithPath: out ?? RunDirectory.defaultPath(outputs: DefaultPaths.outputs, preset: presetName, seed: seed))
    }

    /// The recipe: the preset's defaults, overridden by the flags given (the data set's fields come from `--data`).
    func recipe() throws -> RunConfiguration {
        let preset = Preset.named(preset)!
        var configuration = preset.configuration(seed: seed)
        configuration.preset = presetName
        configuration.notation = try architecture().notation
        configuration.head = try hiddenWidths()
        configuration.epochs = epochs ?? preset.epochs
        configuration.batchSize = batch
        configuration.learningRate = lr
        configuration.momentum = momentum
        configuration.weightDecay = weightDecay
        configuration.learningRateDecayFactor = lrDecay
        configuration.learningRateDecayEvery = lrDecayEvery ?? preset.decayEvery
        configuration.warmupBatches = warmup ?? preset.warmupBatches
        configuration.augment = !noAugment
        configuration.shiftFill = shiftFill
        configuration.convolutionInitialization = convolutionInitialization.rawValue
        configuration.learningRateSchedule = schedule
        configuration.trainImages = subset ?? preset.trainImages ?? 50_000
        configuration.testImages = testSubset ?? preset.testImages ?? 10_000
        return configuration
    }

    /// Phase 1's configuration for the run in `directory`.
    func request(directory: URL, checkpoints: CheckpointOptions, resume: Bool, force: Bool) throws -> TrainingRequest {
        TrainingRequest(directory: RunDirectory(directory), recipe: try recipe(), data: data, labelSet: labelSet, labels: labels,
                        convolutionPolicy: convolutionPolicy, extendedEpochs: epochs,
                        checkpointMinutes: checkpoints.checkpointMinutes, resume: resume, force: force,
                        provenance: Provenance.collect())
    }
}

/// How often phases 1 and 2 save a checkpoint inside an epoch (shared by `train`, `probe` and `run`).
struct CheckpointOptions: ParsableArguments {
    @Option(help: "Minutes between checkpoints inside an epoch (0 = only after each epoch and on Ctrl-C).")
    var checkpointMinutes = 10.0

    func validate() throws {
        guard checkpointMinutes >= 0, checkpointMinutes.isFinite else {
            throw ValidationError("--checkpoint-minutes must be a number >= 0, got \(checkpointMinutes)")
        }
    }
}

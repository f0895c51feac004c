import ArgumentParser
import CIFAR
import Engine
import Foundation
import RunStore

extension LearningRateSchedule: ExpressibleByArgument {}

/// Options that define phase 1 of a run (shared by `train` and `run`).
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

    @Option(help: "Seed of initialization, shuffling and augmentation.")
    var seed: UInt64 = 1

    @Option(help: "Folder with the binary files of CIFAR-10 (cifar-10-batches-bin) or CIFAR-100 (cifar-100-binary), or their parent.")
    var data = DefaultPaths.data

    @Option(name: .customLong("conv-algorithm"),
            help: ArgumentHelp("Convolution algorithm: auto (the engine's rule), measure (fastest per layer on this machine), im2col, winograd-f2, winograd-f4, or one per conv layer, comma-separated.",
                               valueName: "algorithm"))
    var convolutionAlgorithm = "auto"

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
            let policy = try ConvolutionPolicy(parsing: convolutionAlgorithm)
            if policy != .measured { _ = try policy.algorithms(for: architecture) }
        } catch {
            throw ValidationError("--conv-algorithm: \(error)")
        }
    }

    /// The architecture these options describe.
    func architecture() throws -> Architecture {
        let preset = Preset.named(preset)!
        do {
            return try Architecture(notation: notation ?? preset.notation, head: try headWidths())
        } catch {
            throw ValidationError("--arch: \(error)")
        }
    }

    func headWidths() throws -> [Int] {
        guard let head, !head.isEmpty else { return [] }
        return try head.split(separator: ",").map {
            guard let width = Int($0.trimmingCharacters(in: .whitespaces)), width > 0 else {
                throw ValidationError("--head: \"\($0)\" is not a positive width")
            }
            return width
        }
    }

    /// The labels `--labels` selects of `dataset` (all of them without the flag).
    func selection(of dataset: Dataset) throws -> LabelSelection {
        guard let labels else { return .all(dataset.labelCount) }
        do {
            return try LabelSelection.parse(labels, labelCount: dataset.labelCount)
        } catch {
            throw UsageError("\(error.description) in \(dataset.directory.path)")
        }
    }

    /// The run configuration on `dataset`'s labels `selection`: the preset's defaults, overridden by the flags given.
    func configuration(dataset: Dataset, selection: LabelSelection) throws -> RunConfiguration {
        var configuration = try configuration(dataset: dataset.name, dataDirectory: dataset.directory.path)
        configuration.labelCount = selection.indices.count
        configuration.labels = selection.indices
        configuration.dataFormat = dataset.format.rawValue
        configuration.labelSet = dataset.labelSet?.rawValue
        configuration.dataMD5 = dataset.sourceMD5
        if !selection.isAll(of: dataset.labelCount) {
            configuration.dataset += ", \(selection.indices.count) of \(dataset.labelCount) labels"
        }
        return configuration
    }

    /// The run configuration: the preset's defaults, overridden by the flags given.
    func configuration(dataset: String, dataDirectory: String) throws -> RunConfiguration {
        let preset = Preset.named(preset)!
        var configuration = preset.configuration(seed: seed)
        configuration.preset = notation == nil ? preset.name : "custom"
        configuration.notation = try architecture().notation
        configuration.head = try headWidths()
        configuration.epochs = epochs ?? preset.epochs
        configuration.batchSize = batch
        configuration.learningRate = lr
        configuration.momentum = momentum
        configuration.weightDecay = weightDecay
        configuration.learningRateDecayFactor = lrDecay
        configuration.learningRateDecayEvery = lrDecayEvery ?? preset.decayEvery
        configuration.warmupBatches = warmup ?? preset.warmupBatches
        configuration.augment = !noAugment
        configuration.learningRateSchedule = schedule
        configuration.trainImages = subset ?? preset.trainImages ?? 50_000
        configuration.testImages = testSubset ?? preset.testImages ?? 10_000
        configuration.dataset = dataset
        configuration.dataDirectory = dataDirectory
        configuration.convolutionAlgorithms = try ConvolutionPolicy(parsing: convolutionAlgorithm)
            .algorithms(for: try architecture(), batch: batch).map(\.rawValue)
        return configuration
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

/// `filterlens train`: phase 1.
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Phase 1: train the whole network and write run.h5 (weights, metrics) and activations.h5.",
        discussion: "A checkpoint is written after every epoch, every --checkpoint-minutes inside one, and on Ctrl-C; --resume continues an interrupted run to the same result.")

    @OptionGroup var training: TrainingOptions
    @OptionGroup var checkpoints: CheckpointOptions

    @Option(help: "Run directory (default: outputs/<preset>-seed<seed>).")
    var out: String?

    @Flag(help: "Continue the interrupted run in --out from its last checkpoint.")
    var resume = false

    @Flag(help: "Overwrite an existing run directory.")
    var force = false

    func run() throws {
        try reportingFailures {
            let directory = URL(fileURLWithPath: out ?? RunDirectory.defaultPath(preset: training.notation == nil ? training.preset : "custom", seed: training.seed))
            try PhaseOne.run(training, checkpoints: checkpoints, directory: directory, resume: resume, force: force)
        }
    }
}

/// The run directory conventions.
enum RunDirectory {
    /// outputs/<preset>-seed<seed>.
    static func defaultPath(preset: String, seed: UInt64) -> String {
        "\(DefaultPaths.outputs)/\(preset)-seed\(seed)"
    }

    /// Makes `directory` ready for a new run: refuses an existing run unless `force`.
    static func prepareNew(_ directory: URL, force: Bool) throws {
        let run = directory.appendingPathComponent(RunLayout.runFile)
        let checkpoint = directory.appendingPathComponent(RunLayout.checkpointFile)
        let exists = FileManager.default.fileExists(atPath: run.path) || FileManager.default.fileExists(atPath: checkpoint.path)
        if exists && !force {
            throw UsageError("\(directory.path): a run exists here; pass --resume to continue it, --force to overwrite it, or another --out")
        }
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            if force {
                for name in [RunLayout.runFile, RunLayout.activationsFile, RunLayout.analysisFile, RunLayout.checkpointFile,
                             RunLayout.probeCheckpointFile, RunLayout.analysisCheckpointFile] {
                    try? FileManager.default.removeItem(at: directory.appendingPathComponent(name))
                }
            }
        } catch {
            throw UsageError("\(directory.path): cannot create the run directory (\(error.localizedDescription)); choose a writable --out")
        }
    }
}

extension RunDirectory {
    /// Removes results computed from an earlier state of `directory`'s run.h5, which `phase` has just replaced:
    /// phase 1 invalidates phase 2's checkpoint and phase 3's results, phase 2 invalidates phase 3's.
    static func removeDerived(from directory: URL, after phase: String) {
        var names = [RunLayout.analysisFile, RunLayout.analysisCheckpointFile, "layers.csv", RunLayout.pruneFile]
        if phase == "phase 1" { names.append(RunLayout.probeCheckpointFile) }
        for name in names {
            let url = directory.appendingPathComponent(name)
            guard FileManager.default.fileExists(atPath: url.path) else { continue }
            try? FileManager.default.removeItem(at: url)
            say("removed \(url.path): computed from the run before \(phase) replaced it")
        }
    }
}

/// Phase 1 wiring: data, trainer, checkpoints, progress, outputs.
enum PhaseOne {
    static func run(_ options: TrainingOptions, checkpoints: CheckpointOptions, directory: URL, resume: Bool, force: Bool) throws {
        var provenance = Provenance.collect()   // at launch: the checkout the binary was started from
        Interruption.removeStaleTemporaries(in: directory)
        let checkpointURL = directory.appendingPathComponent(RunLayout.checkpointFile)
        var checkpoint: Checkpoint?
        if resume {
            guard FileManager.default.fileExists(atPath: checkpointURL.path) else {
                throw UsageError("\(checkpointURL.path): no checkpoint to resume from; start the run without --resume")
            }
            checkpoint = try CheckpointFile.load(from: checkpointURL)
            if let original = checkpoint?.provenance {
                provenance = Provenance.resumed(original, by: provenance)
            }
        } else {
            try RunDirectory.prepareNew(directory, force: force)
        }
        var configuration: RunConfiguration
        let dataset: Dataset
        if let recorded = checkpoint?.configuration {
            configuration = recorded
            dataset = try RunData.dataset(of: recorded)
        } else {
            dataset = try Dataset.locate(options.data, labelSet: options.labelSet)
            configuration = try options.configuration(dataset: dataset, selection: try options.selection(of: dataset))
            if let md5 = dataset.sourceMD5 { provenance["dataset_md5"] = md5 }
        }
        if resume, let epochs = options.epochs, epochs > configuration.epochs {
            configuration.epochs = epochs   // extending a finished run is allowed; everything else stays as recorded
        }
        if let checkpoint, checkpoint.cursor == nil, checkpoint.completedEpochs >= configuration.epochs,
           FileManager.default.fileExists(atPath: directory.appendingPathComponent(RunLayout.runFile).path),
           FileManager.default.fileExists(atPath: directory.appendingPathComponent(RunLayout.activationsFile).path) {
            say("phase 1 of \(directory.path) is complete (\(checkpoint.completedEpochs) epochs); nothing to resume")
            return
        }
        let architecture = try Architecture(notation: configuration.notation, head: configuration.head,
                                            labelCount: configuration.labelCount)
        let (train, test) = try RunData.load(dataset, for: configuration)
        let trainer = try Trainer(configuration: configuration, architecture: architecture, train: train, test: test)
        if let checkpoint { try trainer.restore(checkpoint) }
        say("run \(directory.path): \(configuration.preset) [\(configuration.notation)], \(architecture.convolutionCount) conv layers, "
            + "\(trainer.network.parameters.buffer.count) parameters; convolutions "
            + trainer.network.convolutionAlgorithms.map(\.rawValue).joined(separator: ","))
        say("data \(configuration.dataset): \(train.count) training / \(test.count) test images, \(configuration.labelCount) labels; "
            + "\(configuration.epochs) epochs, batch \(configuration.batchSize), lr \(configuration.learningRate), seed \(configuration.seed)")
        if let cursor = trainer.cursor {
            say("resuming epoch \(cursor.epoch + 1) after \(cursor.imagesDone) of \(train.count) images")
        } else if trainer.completedEpochs > 0 {
            say("resuming after epoch \(trainer.completedEpochs)")
        }
        let progress = ProgressPrinter()
        let started = Date()
        var schedule = CheckpointSchedule(minutes: checkpoints.checkpointMinutes)
        while trainer.completedEpochs < configuration.epochs {
            let finished = try Interruption.stoppingAfterBatch {
                try trainer.trainEpoch(progress: progress.show) { cursor in
                    if Interruption.isStopRequested {
                        try saveCheckpoint(trainer, cursor: cursor, provenance: provenance, to: checkpointURL)
                        return .stop
                    }
                    if schedule.isDue() { try saveCheckpoint(trainer, cursor: cursor, provenance: provenance, to: checkpointURL) }
                    return .proceed
                }
            }
            guard let metrics = finished else {
                let cursor = trainer.cursor!
                throw StoppedAfterSaving(description: "saved a checkpoint in epoch \(cursor.epoch + 1) after \(cursor.imagesDone) images to "
                                         + "\(checkpointURL.path); " + Interruption.resumeHint(phase: "train", directory: directory))
            }
            let remaining = Double(configuration.epochs - trainer.completedEpochs) * metrics.seconds
            say(String(format: "epoch %2d/%d  lr %.4f  train loss %.4f  train SR %.4f  test loss %.4f  test SR %.4f  %5.0f img/s  %5.1fs  ETA %@",
                       metrics.epoch, configuration.epochs, metrics.learningRate, metrics.trainLoss, metrics.trainSR,
                       metrics.testLoss, metrics.testSR, metrics.imagesPerSecond, metrics.seconds,
                       ProgressPrinter.duration(remaining)))
            try saveCheckpoint(trainer, cursor: nil, provenance: provenance, to: checkpointURL)
            schedule.reset()
            try Interruption.stopIfRequested("saved a checkpoint after epoch \(trainer.completedEpochs) to \(checkpointURL.path); "
                                             + Interruption.resumeHint(phase: "train", directory: directory))
        }
        try trainer.writeRunFile(to: directory, labelNames: try RunData.labelNames(dataset, for: configuration), provenance: provenance)
        RunDirectory.removeDerived(from: directory, after: "phase 1")
        say("writing test-set activations of \(architecture.convolutionCount) layers ...")
        try trainer.writeActivations(of: test, to: directory, progress: progress.show)
        say(String(format: "phase 1 done in %@: test SR %.4f; wrote %@ and %@", ProgressPrinter.duration(Date().timeIntervalSince(started)),
                   trainer.metrics.last?.testSR ?? .nan, directory.appendingPathComponent(RunLayout.runFile).path, RunLayout.activationsFile))
    }

    /// Saves the trainer's state, inside an epoch at `cursor` or (nil) between epochs, with the run's provenance.
    static func saveCheckpoint(_ trainer: Trainer, cursor: EpochCursor?, provenance: [String: String], to url: URL) throws {
        let buffers = trainer.stateBuffers.map { (name: $0.name, values: UnsafeBufferPointer(start: $0.buffer.pointer, count: $0.buffer.count)) }
        let checkpoint = Checkpoint(configuration: trainer.configuration, completedEpochs: trainer.completedEpochs,
                                    metrics: trainer.metrics, buffers: [:], cursor: cursor, provenance: provenance)
        try CheckpointFile.save(checkpoint, to: url, buffers: buffers)
    }
}

import CIFAR
import Engine
import Foundation
import RunStore
import Training

/// Phase 1's configuration: a new run's recipe and data, or the run to resume.
public struct TrainingRequest: Sendable {
    /// The run folder.
    public var directory: RunDirectory
    /// A new run's recipe; the data set's fields (name, folder, labels, format, MD5) and the convolution algorithms
    /// are filled in from `data` and `convolutionPolicy`. A resumed run keeps its recorded configuration.
    public var recipe: RunConfiguration
    /// The folder of the binary files (or their parent).
    public var data: String
    /// CIFAR-100's label set (selects CIFAR-100 under `data`).
    public var labelSet: LabelSet?
    /// "K" (the first K labels), "0,3,5" (those labels, in that order) or nil (all).
    public var labels: String?
    /// How each convolution layer's algorithm is chosen for a new run.
    public var convolutionPolicy: ConvolutionPolicy
    /// Epochs a resumed run is extended to (more than recorded only; nil keeps the recorded count).
    public var extendedEpochs: Int?
    /// Minutes between checkpoints inside an epoch (0: only after epochs and on a stop request).
    public var checkpointMinutes: Double
    /// Continue from checkpoint.h5 (else start a new run).
    public var resume: Bool
    /// Overwrite an existing run.
    public var force: Bool
    /// The launching process's provenance (versions, machine, command line, commit).
    public var provenance: [String: String]

    public init(directory: RunDirectory, recipe: RunConfiguration, data: String, labelSet: LabelSet?, labels: String?,
                convolutionPolicy: ConvolutionPolicy, extendedEpochs: Int?, checkpointMinutes: Double, resume: Bool,
                force: Bool, provenance: [String: String]) {
        self.directory = directory
        self.recipe = recipe
        self.data = data
        self.labelSet = labelSet
        self.labels = labels
        self.convolutionPolicy = convolutionPolicy
        self.extendedEpochs = extendedEpochs
        self.checkpointMinutes = checkpointMinutes
        self.resume = resume
        self.force = force
        self.provenance = provenance
    }
}

/// Phase 1: reads the data set (and checkpoint.h5 when resuming); writes checkpoint.h5 after every epoch, then
/// run.h5 (configuration, provenance, metrics, weights) and activations.h5 (every layer's test-set block outputs).
enum TrainPhase {
    static func run(_ request: TrainingRequest, _ context: PipelineContext) throws {
        let directory = request.directory
        var provenance = request.provenance
        directory.removeStaleTemporaries()
        let checkpointURL = directory.file(RunLayout.checkpointFile)
        var checkpoint: Checkpoint?
        if request.resume {
            guard directory.exists(RunLayout.checkpointFile) else {
                throw PipelineError.nothingToResume(checkpoint: checkpointURL.path)
            }
            checkpoint = try CheckpointFile.load(from: checkpointURL)
            if let original = checkpoint?.provenance {
                provenance = RunProvenance.resumed(original, by: provenance)
            }
        } else {
            try directory.prepareNew(force: request.force)
        }
        var configuration: RunConfiguration
        let dataset: Dataset
        if let recorded = checkpoint?.configuration {
            configuration = recorded
            dataset = try RunData.dataset(of: recorded)
        } else {
            dataset = try Dataset.locate(request.data, labelSet: request.labelSet)
            let selection = try RunData.selection(request.labels, of: dataset)
            configuration = request.recipe.on(dataset, labels: selection)
            configuration.convolutionAlgorithms = try request.convolutionPolicy
                .algorithms(for: try Architecture(notation: configuration.notation, hiddenWidths: configuration.head),
                            batch: configuration.batchSize).map(\.rawValue)
            if let md5 = dataset.sourceMD5 { provenance["dataset_md5"] = md5 }
        }
        if request.resume, let epochs = request.extendedEpochs, epochs > configuration.epochs {
            configuration.epochs = epochs   // extending a finished run is allowed; everything else stays as recorded
        }
        if let checkpoint, directory.trainingComplete(checkpoint, epochs: configuration.epochs) {
            context.say("phase 1 of \(directory.path) is complete (\(checkpoint.completedEpochs) epochs); nothing to resume")
            return
        }
        let architecture = try Architecture(notation: configuration.notation, hiddenWidths: configuration.head,
                                            labelCount: configuration.labelCount)
        // The batch against the training set and the memory, before the data and the network are allocated.
        try BatchLimits.check(batch: configuration.batchSize, images: configuration.trainImages, architecture: architecture,
                              algorithms: try ConvolutionAlgorithm.recorded(configuration.convolutionAlgorithms, for: architecture))
        let (train, test) = try RunData.load(dataset, for: configuration)
        if configuration.batchSize > train.count {   // a label subset can hold fewer images than --subset asked for
            throw BatchTooLarge(batch: configuration.batchSize, reason: .trainingSet(images: train.count), largestFitting: train.count)
        }
        let trainer = try Trainer(configuration: configuration, architecture: architecture, train: train, test: test)
        if let checkpoint { try trainer.restore(checkpoint) }
        context.say("run \(directory.path): \(configuration.preset) [\(configuration.notation)], \(architecture.convolutionCount) conv layers, "
            + "\(trainer.network.parameters.buffer.count) parameters; convolutions "
            + trainer.network.convolutionAlgorithms.map(\.rawValue).joined(separator: ","))
        context.say("data \(configuration.dataset): \(train.count) training / \(test.count) test images, \(configuration.labelCount) labels; "
            + "\(configuration.recipeDescription), seed \(configuration.seed)")
        if let core = request.provenance["openblas_core"], let threads = request.provenance["openblas_threads"] {
            context.say("machine \(request.provenance["machine"] ?? "unknown"): OpenBLAS \(core) kernel, \(threads) threads")
        }
        if let cursor = trainer.cursor {
            context.say("resuming epoch \(cursor.epoch + 1) after \(cursor.imagesDone) of \(train.count) images")
        } else if trainer.completedEpochs > 0 {
            context.say("resuming after epoch \(trainer.completedEpochs)")
        }
        let started = Date()
        let hint = context.stops.resumeHint(phase: .train, directory: directory.url)
        let loop = EpochLoop(
            trainer: trainer, epochs: configuration.epochs, checkpointMinutes: request.checkpointMinutes, checkpointsFinalEpoch: true,
            save: { cursor in try trainer.saveCheckpoint(cursor: cursor, provenance: provenance, to: checkpointURL) },
            stoppedInside: { cursor in
                "saved a checkpoint in epoch \(cursor.epoch + 1) after \(cursor.imagesDone) images to \(checkpointURL.path); \(hint)"
            },
            stoppedAfter: { epoch in "saved a checkpoint after epoch \(epoch) to \(checkpointURL.path); \(hint)" })
        try loop.run(context) { metrics in
            let remaining = Double(configuration.epochs - trainer.completedEpochs) * metrics.seconds
            context.say(String(format: "epoch %2d/%d  lr %.4f  train loss %.4f  train SR %.4f  test loss %.4f  test SR %.4f  %5.0f img/s  %5.1fs  ETA %@",
                               metrics.epoch, configuration.epochs, metrics.learningRate, metrics.trainLoss, metrics.trainSR,
                               metrics.testLoss, metrics.testSR, metrics.imagesPerSecond, metrics.seconds,
                               Elapsed.text(remaining)))
        }
        try trainer.writeRunFile(to: directory.url, labelNames: try RunData.labelNames(dataset, for: configuration), provenance: provenance)
        directory.removeDerived(after: .train, context)
        context.say("writing test-set activations of \(architecture.convolutionCount) layers ...")
        try trainer.writeActivations(of: test, to: directory.url, progress: context.observer.batchProgress)
        context.say(String(format: "phase 1 done in %@: test SR %.4f; wrote %@ and %@", Elapsed.text(Date().timeIntervalSince(started)),
                           trainer.metrics.last?.testSR ?? .nan, directory.file(RunLayout.runFile).path, RunLayout.activationsFile))
    }
}

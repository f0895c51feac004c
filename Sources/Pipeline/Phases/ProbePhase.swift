import Engine
import Foundation
import RunStore
import Training

/// Phase 2's configuration: the recipe of the linear probes over the run's recorded defaults.
public struct ProbeRequest: Sendable {
    /// The run folder (phase 1 complete).
    public var directory: RunDirectory
    /// Probe epochs (nil: the run's recorded default).
    public var epochs: Int?
    /// Starting learning rates: one for every probe, or one per convolutional layer (from the input).
    public var learningRates: [Double]
    /// The learning rate's factor per epoch, Nesterov momentum, L2 weight decay.
    public var learningRateDecay: Double, momentum: Double, weightDecay: Double
    /// Minutes between checkpoints inside an epoch (0: only after epochs and on a stop request).
    public var checkpointMinutes: Double
    /// Continue from probe-checkpoint.h5; a complete phase 2 is kept.
    public var resume: Bool
    /// Seed of the heads' initialization, shuffling and augmentation (nil: the run's seed + 7,919, `RunConfiguration.probeSeed`).
    public var seed: UInt64?

    public init(directory: RunDirectory, epochs: Int?, learningRates: [Double], learningRateDecay: Double, momentum: Double,
                weightDecay: Double, checkpointMinutes: Double, resume: Bool, seed: UInt64? = nil) {
        self.directory = directory
        self.epochs = epochs
        self.learningRates = learningRates
        self.learningRateDecay = learningRateDecay
        self.momentum = momentum
        self.weightDecay = weightDecay
        self.checkpointMinutes = checkpointMinutes
        self.resume = resume
        self.seed = seed
    }

    /// The recipe: these settings over the run's recorded `defaults`, at the run's batch size, for a network of
    /// `layers` convolutional layers.
    func recipe(defaults: ProbeConfiguration, batchSize: Int, layers: Int) throws(InvalidRequest) -> ProbeConfiguration {
        guard learningRates.count == 1 || learningRates.count == layers else {
            throw InvalidRequest("--probe-lr lists \(learningRates.count) rates; give one, or one per convolutional layer (\(layers))")
        }
        return ProbeConfiguration(epochs: epochs ?? defaults.epochs, learningRate: learningRates[0], learningRateDecay: learningRateDecay,
                                  momentum: momentum, weightDecay: weightDecay, batchSize: batchSize, augment: defaults.augment,
                                  layerLearningRates: learningRates.count == 1 ? nil : learningRates)
    }
}

/// Phase 2: reads run.h5 (configuration, weights) and the data set (and probe-checkpoint.h5 when resuming); writes
/// probe-checkpoint.h5 after every epoch but the last, then probe.h5 (recipe and probes). run.h5 is never edited.
enum ProbePhase {
    static func run(_ request: ProbeRequest, _ context: PipelineContext) throws {
        let directory = request.directory
        let runURL = directory.file(RunLayout.runFile)
        let probeURL = directory.file(RunLayout.probeFile)
        let checkpointURL = directory.file(RunLayout.probeCheckpointFile)
        directory.removeStaleTemporaries()
        let reader = try RunFileReader(runURL)
        guard let configuration = try reader.configuration() else {
            throw RunStoreError(path: runURL.path, object: "/config@json", problem: "no training configuration",
                                fix: "probe needs a run trained by `filterlens train`")
        }
        let architecture = try Architecture(notation: configuration.notation, hiddenWidths: configuration.head,
                                            labelCount: configuration.labelCount)
        let recipe = try request.recipe(defaults: configuration.probe, batchSize: configuration.batchSize,
                                        layers: architecture.convolutionCount)
        let hasCheckpoint = directory.exists(RunLayout.probeCheckpointFile)
        if request.resume, try directory.probingComplete(try ProbeSource.find(for: reader), layers: architecture.convolutionCount) {
            context.say("phase 2 of \(directory.path) is complete; nothing to resume")
            return
        }
        let network = Network(architecture: architecture, maxBatch: recipe.batchSize, seed: configuration.seed,
                              algorithms: try ConvolutionAlgorithm.recorded(configuration.convolutionAlgorithms,
                                                                            for: architecture))
        try network.load(from: reader)
        let (train, test) = try RunData.load(try RunData.dataset(of: configuration), for: configuration)
        let seed = request.seed ?? configuration.probeSeed
        let prober = Prober(network: network, recipe: recipe, train: train, test: test, seed: seed,
                            shiftFill: configuration.shiftFillUsed)
        context.say("probe \(directory.path): \(architecture.convolutionCount) heads, \(recipe.epochs) epochs, lr \(recipe.startingRatesDescription), momentum \(recipe.momentum), seed \(seed)")
        if request.resume && hasCheckpoint {
            try prober.restore(try ProbeCheckpointFile.load(from: checkpointURL), path: checkpointURL.path)
            context.say("resuming phase 2 after \(prober.completedEpochs) epochs" + (prober.cursor.map { " and \($0.imagesDone) images" } ?? ""))
        }
        let started = Date()
        let hint = context.stops.resumeHint(phase: .probe, directory: directory.url)
        let loop = EpochLoop(
            trainer: prober, epochs: recipe.epochs, checkpointMinutes: request.checkpointMinutes, checkpointsFinalEpoch: false,
            save: { cursor in try prober.saveCheckpoint(cursor: cursor, to: checkpointURL) },
            stoppedInside: { _ in "saved a phase 2 checkpoint to \(checkpointURL.path); \(hint)" },
            stoppedAfter: { epoch in "saved a phase 2 checkpoint after epoch \(epoch) to \(checkpointURL.path); \(hint)" })
        try loop.run(context) { epochs in
            let cells = epochs.enumerated().map { String(format: "L%d %.3f", $0.offset + 1, $0.element.testSR) }
            context.say("probe epoch \(epochs[0].epoch)/\(recipe.epochs)  test SR per layer: " + cells.joined(separator: "  "))
        }
        let writer = try ProbeFileWriter(creating: probeURL, runID: reader.identity)
        try writer.writeRecipe(recipe, seed: seed)
        for probe in prober.probeHeads() {
            try writer.writeProbe(probe)
            if probe.lossFlag != "ok" {
                context.say("warning: layer \(probe.layer) probe: \(probe.lossFlag) (final train loss \(String(format: "%.3f", probe.epochs.last?.trainLoss ?? .nan)))")
            }
        }
        try writer.commit()
        try? FileManager.default.removeItem(at: checkpointURL)
        directory.removeDerived(after: .probe, context)
        context.say(String(format: "phase 2 done in %@; wrote %@", Elapsed.text(Date().timeIntervalSince(started)), probeURL.path))
    }
}

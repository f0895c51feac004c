import ArgumentParser
import CIFAR
import Engine
import Foundation
import RunStore

/// Options of phase 2 (shared by `probe` and `run`).
struct ProbeOptions: ParsableArguments {
    @Option(name: .customLong("probe-epochs"), help: "Epochs of head training (default: the preset's).")
    var epochs: Int?

    @Option(name: .customLong("probe-lr"), help: "Heads' starting learning rate: one for all, or one per convolutional layer, comma-separated (e.g. 0.001,0.001,0.01,0.01,0.01,0.01).")
    var learningRates = "0.01"

    @Option(name: .customLong("probe-lr-decay"), help: "Heads' learning-rate factor per epoch.")
    var learningRateDecay = 0.975

    @Option(name: .customLong("probe-momentum"), help: "Heads' Nesterov momentum.")
    var momentum = 0.975

    @Option(name: .customLong("probe-weight-decay"), help: "Heads' L2 weight decay.")
    var weightDecay = 1e-3

    func validate() throws {
        if let epochs, epochs < 1 { throw ValidationError("--probe-epochs must be at least 1") }
        _ = try parsedRates()
        guard momentum >= 0 && momentum < 1 else { throw ValidationError("--probe-momentum must be in [0, 1)") }
        guard weightDecay >= 0 else { throw ValidationError("--probe-weight-decay must be >= 0") }
    }

    /// The rates of `--probe-lr`, each positive and finite.
    func parsedRates() throws -> [Double] {
        let rates = try learningRates.split(separator: ",").map { text in
            guard let rate = Double(text.trimmingCharacters(in: .whitespaces)), rate > 0, rate.isFinite else {
                throw ValidationError("--probe-lr: \"\(text)\" is not a positive learning rate")
            }
            return rate
        }
        guard !rates.isEmpty else { throw ValidationError("--probe-lr needs at least one rate") }
        return rates
    }

    /// The recipe: these flags over the run's recorded defaults, for a network of `layers` convolutional layers.
    func recipe(defaults: ProbeConfiguration, batchSize: Int, layers: Int) throws -> ProbeConfiguration {
        let rates = try parsedRates()
        guard rates.count == 1 || rates.count == layers else {
            throw ValidationError("--probe-lr lists \(rates.count) rates; give one, or one per convolutional layer (\(layers))")
        }
        return ProbeConfiguration(epochs: epochs ?? defaults.epochs, learningRate: rates[0], learningRateDecay: learningRateDecay,
                                  momentum: momentum, weightDecay: weightDecay, batchSize: batchSize, augment: defaults.augment,
                                  layerLearningRates: rates.count == 1 ? nil : rates)
    }
}

/// `filterlens probe`: phase 2.
struct ProbeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "probe",
        abstract: "Phase 2: train a new FC head on every frozen convolutional layer; writes SR per layer into run.h5.")

    @Argument(help: "Run directory written by `filterlens train`.")
    var runDirectory: String

    @OptionGroup var probe: ProbeOptions
    @OptionGroup var checkpoints: CheckpointOptions

    @Flag(help: "Continue an interrupted phase 2 from probe-checkpoint.h5 (same flags as the interrupted one).")
    var resume = false

    func run() throws {
        try reportingFailures {
            try PhaseTwo.run(directory: URL(fileURLWithPath: runDirectory), options: probe, checkpoints: checkpoints, resume: resume)
        }
    }
}

/// Phase 2 wiring: load the trained network, train all heads, store them.
enum PhaseTwo {
    static func run(directory: URL, options: ProbeOptions, checkpoints: CheckpointOptions, resume: Bool) throws {
        let runURL = directory.appendingPathComponent(RunLayout.runFile)
        let checkpointURL = directory.appendingPathComponent(RunLayout.probeCheckpointFile)
        Interruption.removeStaleTemporaries(in: directory)
        let reader = try RunFileReader(runURL)
        guard let configuration = try reader.configuration() else {
            throw RunStoreError(path: runURL.path, object: "/config@json", problem: "no training configuration",
                                fix: "probe needs a run trained by `filterlens train`")
        }
        let architecture = try Architecture(notation: configuration.notation, head: configuration.head,
                                            labelCount: configuration.labelCount)
        let recipe = try options.recipe(defaults: configuration.probe, batchSize: configuration.batchSize,
                                        layers: architecture.convolutionCount)
        let hasCheckpoint = FileManager.default.fileExists(atPath: checkpointURL.path)
        let headCount = try reader.probeLayers().count
        if resume && !hasCheckpoint && reader.probeRecipe() != nil && headCount == architecture.convolutionCount {
            say("phase 2 of \(directory.path) is complete; nothing to resume")
            return
        }
        let network = Network(architecture: architecture, maxBatch: recipe.batchSize, seed: configuration.seed,
                              algorithms: try ConvolutionAlgorithm.recorded(configuration.convolutionAlgorithms,
                                                                            for: architecture))
        try network.load(from: reader)
        let (train, test) = try RunData.load(try RunData.dataset(of: configuration), for: configuration)
        let prober = Prober(network: network, recipe: recipe, train: train, test: test, seed: configuration.seed &+ 7_919)
        say("probe \(directory.path): \(architecture.convolutionCount) heads, \(recipe.epochs) epochs, lr \(recipe.startingRatesDescription), momentum \(recipe.momentum)")
        if resume && hasCheckpoint {
            try prober.restore(try ProbeCheckpointFile.load(from: checkpointURL), path: checkpointURL.path)
            say("resuming phase 2 after \(prober.completedEpochs) epochs" + (prober.cursor.map { " and \($0.imagesDone) images" } ?? ""))
        }
        let progress = ProgressPrinter()
        let started = Date()
        var schedule = CheckpointSchedule(minutes: checkpoints.checkpointMinutes)
        func save(_ cursor: EpochCursor?) throws {
            let buffers = prober.stateBuffers.map { (name: $0.name, values: UnsafeBufferPointer(start: $0.buffer.pointer, count: $0.buffer.count)) }
            try ProbeCheckpointFile.save(prober.progressRecord, cursor: cursor, to: checkpointURL, buffers: buffers)
        }
        while prober.completedEpochs < recipe.epochs {
            let finished = try Interruption.stoppingAfterBatch {
                try prober.trainEpoch(progress: progress.show) { cursor in
                    if Interruption.isStopRequested {
                        try save(cursor)
                        return .stop
                    }
                    if schedule.isDue() { try save(cursor) }
                    return .proceed
                }
            }
            guard let epochs = finished else {
                throw StoppedAfterSaving(description: "saved a phase 2 checkpoint to \(checkpointURL.path); "
                                         + Interruption.resumeHint(phase: "probe", directory: directory))
            }
            let cells = epochs.enumerated().map { String(format: "L%d %.3f", $0.offset + 1, $0.element.testSR) }
            say("probe epoch \(epochs[0].epoch)/\(recipe.epochs)  test SR per layer: " + cells.joined(separator: "  "))
            if prober.completedEpochs < recipe.epochs {
                try save(nil)
                schedule.reset()
                try Interruption.stopIfRequested("saved a phase 2 checkpoint after epoch \(prober.completedEpochs) to \(checkpointURL.path); "
                                                 + Interruption.resumeHint(phase: "probe", directory: directory))
            }
        }
        let writer = try RunFileWriter(amending: runURL)
        try writer.writeProbeRecipe(recipe, seed: configuration.seed &+ 7_919)
        for head in prober.probeHeads() {
            try writer.writeProbe(head)
            if head.lossFlag != "ok" {
                say("warning: layer \(head.layer) head: \(head.lossFlag) (final train loss \(String(format: "%.3f", head.epochs.last?.trainLoss ?? .nan)))")
            }
        }
        try writer.commit()
        try? FileManager.default.removeItem(at: checkpointURL)
        RunDirectory.removeDerived(from: directory, after: "phase 2")
        say(String(format: "phase 2 done in %@; wrote heads to %@", ProgressPrinter.duration(Date().timeIntervalSince(started)), runURL.path))
    }
}

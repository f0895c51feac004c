import ArgumentParser
import Engine
import Pipeline
import Foundation
import Pruning
import RunStore

/// `filterlens prune`: cluster-based pruning (AFCC, [L2]) against its random control.
struct PruneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prune",
        abstract: "Prune by phase 3's clusters (AFCC, arXiv 2501.12880) and by random clusters of the same sizes; retrain shortly; writes prune.h5.",
        discussion: """
        From a dissected run (run.h5, probe.h5, analysis.h5), for consecutive layers l_1 < ... < l_k (--layers): \
        in the phase 2 probe (head) of l_k, filter f keeps its weights only to the labels of its clusters; between layers l and l+1, the \
        3x3 kernel from filter a to filter b is kept only when their cluster label sets share a label. A filter with no \
        cluster keeps nothing.

        Control (one per --control-seeds entry): random clusters of the same sizes for the head, a degree-preserving \
        rewiring of the kernel masks; every filter keeps as many connections as under AFCC.

        Retrained: the head and convolutions l_2 ... l_k (layers 1 ... l_1 frozen), masked weights held at exactly zero. \
        SR: the head's test SR (no test-time augmentation). The unpruned network is measured before and after the same \
        retraining.

        Pruning levels: every --layers is one level, so `--layers 6 --layers 5,6 --layers 4,5,6` measures the five \
        models (unpruned, AFCC, the controls) at three levels, a curve of SR against the fraction of weights pruned. \
        prune-checkpoint.h5 keeps the models finished and, every --checkpoint-minutes and on Ctrl-C (which stops after \
        the current batch), the model in retraining at its place; an interrupted prune continues with --resume and the \
        same flags, to the numbers of an uninterrupted one.

        Writes only RUN/prune.h5 (docs/hdf5-layout.md), and its checkpoint; `filterlens report RUN` then adds the figure \
        and a section to report.html. See docs/pruning.md.
        """)

    @Argument(help: "Run directory, probed and analysed (run.h5, probe.h5, analysis.h5).")
    var runDirectory: String

    @Option(help: "Consecutive layers to prune, comma-separated: one pruning level. Repeat for several levels, e.g. --layers 6 --layers 5,6 (default: the last two analysed layers; one layer prunes its head only).")
    var layers: [String] = []

    @Option(name: .customLong("retrain-epochs"), help: "Epochs of retraining with the masks held (0: measure before retraining only).")
    var retrainEpochs = 2

    @Option(name: .customLong("control-seeds"), help: "Seeds of the random-cluster controls, comma-separated.")
    var controlSeeds = "1,2,3"

    @Option(name: .customLong("retrain-lr"), help: "Starting learning rate of retraining (default: per level, the phase 2 rate of its last layer's head).")
    var learningRate: Double?

    @Option(name: .customLong("retrain-lr-decay"), help: "Learning-rate factor per epoch (default: the run's phase 2 factor).")
    var learningRateDecay: Double?

    @Option(name: .customLong("retrain-momentum"), help: "Nesterov momentum (default: the run's phase 2 momentum).")
    var momentum: Double?

    @Option(name: .customLong("retrain-weight-decay"), help: "L2 weight decay (default: the run's phase 2 weight decay).")
    var weightDecay: Double?

    @Option(help: "Seed of the retraining batch order and augmentation, the same for every model (default: the run's seed).")
    var seed: UInt64?

    @Flag(name: .customLong("no-augment"), help: "Retrain without flip and shift augmentation (default: as phase 2).")
    var noAugment = false

    @Flag(help: "Continue an interrupted prune from RUN/prune-checkpoint.h5 (same flags): the models finished there are not measured again, the one in retraining continues where it stopped.")
    var resume = false

    @OptionGroup var checkpoints: CheckpointOptions

    func validate() throws {
        guard retrainEpochs >= 0 else { throw ValidationError("--retrain-epochs must be >= 0") }
        _ = try parsedLevels()
        _ = try parsedSeeds()
        if let learningRate, !(learningRate > 0 && learningRate.isFinite) { throw ValidationError("--retrain-lr must be positive") }
        if let momentum, !(momentum >= 0 && momentum < 1) { throw ValidationError("--retrain-momentum must be in [0, 1)") }
        if let weightDecay, !(weightDecay >= 0) { throw ValidationError("--retrain-weight-decay must be >= 0") }
    }

    /// The layers of each --layers, in order; empty when none was given.
    func parsedLevels() throws -> [[Int]] {
        let levels = try layers.map { text in
            let values = text.split(separator: ",", omittingEmptySubsequences: false).map { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard !values.isEmpty, values.allSatisfy({ ($0 ?? 0) >= 1 }) else {
                throw ValidationError("--layers \"\(text)\": give layer numbers, e.g. --layers 5,6")
            }
            return values.map { $0! }
        }
        if let repeated = levels.first(where: { level in levels.filter { $0 == level }.count > 1 }) {
            throw ValidationError("--layers \(repeated.map(String.init).joined(separator: ",")) is given twice: give each level once")
        }
        return levels
    }

    func parsedSeeds() throws -> [UInt64] {
        let values = controlSeeds.split(separator: ",").map { UInt64($0.trimmingCharacters(in: .whitespaces)) }
        guard values.allSatisfy({ $0 != nil }), Set(values).count == values.count else {
            throw ValidationError("--control-seeds \"\(controlSeeds)\": give distinct non-negative integers, e.g. 1,2,3")
        }
        return values.map { $0! }
    }

    func run() throws {
        try reportingFailures {
            try RunLock.holding(RunDirectory(URL(fileURLWithPath: runDirectory)), command: "filterlens prune", creating: false) {
                try PruneWiring.run(self)
            }
        }
    }
}

/// Prune wiring: open the dissected run (`DissectedRun`), measure every level's models (checkpointing each), write prune.h5.
enum PruneWiring {
    static func run(_ command: PruneCommand) throws {
        let started = Date()
        let directory = URL(fileURLWithPath: command.runDirectory)
        let checkpointURL = directory.appendingPathComponent(RunLayout.pruneCheckpointFile)
        let run = command.runDirectory
        let dissected = try DissectedRun(path: command.runDirectory)
        let configuration = dissected.configuration, analysis = dissected.analysis
        let given = try command.parsedLevels()
        let layerSets = given.isEmpty ? dissected.defaultLayerSets : given
        let clusters = try dissected.clusters(of: layerSets.joined())
        let levels = dissected.levels(layerSets, overrides: RetrainOverrides(
            epochs: command.retrainEpochs, learningRate: command.learningRate, learningRateDecay: command.learningRateDecay,
            momentum: command.momentum, weightDecay: command.weightDecay, seed: command.seed, noAugment: command.noAugment))
        let (train, test) = try RunData.load(try RunData.dataset(of: configuration), for: configuration)
        let study = try PruneStudy(run: dissected.run, probes: dissected.probes, configuration: configuration, levels: levels,
                                   clusters: clusters, controlSeeds: try command.parsedSeeds(), train: train, test: test)
        let plan = study.plan(sources: dissected.sourceIdentity)
        let (finished, inProgress) = try resumable(command, checkpoint: checkpointURL, plan: plan)
        let modelCount = levels.count * PruneStudy.modelNames(controlSeeds: study.controlSeeds).count
        let first = levels[0].recipe
        let continued = inProgress.map { ", \($0.position.name) of level \($0.position.level + 1) continued at epoch \($0.position.cursor.epoch + 1), image \($0.position.cursor.imagesDone)" } ?? ""
        say("prune \(directory.path): \(levels.count) level\(levels.count == 1 ? "" : "s"), \(modelCount) models (\(finished.count) from \(RunLayout.pruneCheckpointFile)\(continued)), \(first.epochs) retraining epochs each on \(train.count) images, lr decay x\(first.learningRateDecay)/epoch, momentum \(first.momentum), weight decay \(first.weightDecay)")
        for (index, network) in study.networks.enumerated() {
            let tensors = network.tensors, afcc = study.afcc[index]
            let considered = tensors.reduce(0) { $0 + $1.considered }
            let kept = afcc.all.map(\.keptWeights).reduce(0, +)
            let withoutCluster = zip(network.layers, afcc.clusters).map { "layer \($0): \($1.filtersWithoutCluster)/\($1.filterCount)" }
            say(String(format: "level %d/%d, layers %@ (lr %g): %@; filters with no cluster (they keep nothing): %@; AFCC prunes %.2f%% of the %d weights considered (%@), %.2f%% of the network's %d",
                       index + 1, levels.count, network.layers.map(String.init).joined(separator: ","), levels[index].recipe.learningRate,
                       tensors.map { "\($0.name) (\($0.considered) weights)" }.joined(separator: ", "), withoutCluster.joined(separator: ", "),
                       100 * (1 - Double(kept) / Double(considered)), considered,
                       zip(tensors, afcc.all).map { String(format: "%@ %.2f%%", $0.name, 100 * (1 - Double($1.keptWeights) / Double($0.considered))) }.joined(separator: ", "),
                       100 * Double(considered - kept) / Double(network.networkWeights), network.networkWeights))
        }
        let stops = SignalStops()
        let printer = PruneProgressPrinter()
        var savedCount = finished.count
        var stoppedAt = ""
        var lastSave = Date()
        let interval = command.checkpoints.checkpointMinutes * 60
        let records: [PruneLevelRecord]
        do {
            records = try stops.stoppingAfterBatch {
                try study.run(finished: finished, inProgress: inProgress,
                              afterBatch: { position in
                                  let stop = stops.isStopRequested
                                  guard stop || (interval > 0 && Date().timeIntervalSince(lastSave) >= interval) else { return .proceed }
                                  try PruneCheckpointFile.save(plan: plan, models: position.finishedModels,
                                                               inProgress: position.inProgress(), to: checkpointURL)
                                  lastSave = Date()
                                  savedCount = position.finishedModels.count
                                  stoppedAt = "; model \(position.name) of level \(position.level + 1) at epoch \(position.cursor.epoch + 1), image \(position.cursor.imagesDone)"
                                  return stop ? .stop : .proceed
                              },
                              saved: { models in
                                  try PruneCheckpointFile.save(plan: plan, models: models, to: checkpointURL)
                                  lastSave = Date()
                                  savedCount = models.count
                                  stoppedAt = ""
                              },
                              progress: printer.show, finished: { done in
                                  let level = study.levels[done.level - 1]
                                  say(String(format: "level %d/%d (layers %@) model %d/%d %@: pruned %.2f%% of the masked weights, %.2f%% of the network; SR %.4f before, %.4f after retraining  (%@%@; ETA %@)",
                                             done.level, done.levelCount, level.layers.map(String.init).joined(separator: ","),
                                             done.model, done.modelCount, done.result.name, 100 * (1 - done.keptFraction),
                                             100 * (1 - done.networkKeptFraction), done.result.srBefore, done.result.srAfter,
                                             ProgressPrinter.duration(done.result.seconds), done.fromCheckpoint ? ", from the checkpoint" : "",
                                             ProgressPrinter.duration(done.secondsLeft)))
                              })
            }
        } catch is RetrainingStopped {
            let held = stoppedAt.isEmpty ? "; the model in progress was dropped" : stoppedAt
            throw StoppedAfterSaving(description: "\(checkpointURL.path) holds \(savedCount) of \(modelCount) models finished\(held); `filterlens prune \(run) --resume` with the same flags continues")
        }
        let provenance = Provenance.collect()
        let numbers: [(String, Double)] = [
            ("train_images", Double(train.count)), ("test_images", Double(test.count)),
            ("analysis_threshold", analysis.number("threshold") ?? .nan),
            ("seconds", Date().timeIntervalSince(started)), ("resumed_models", Double(finished.count + (inProgress == nil ? 0 : 1))),
            ("model_seconds", records.reduce(0) { $0 + $1.models.reduce(0) { $0 + $1.seconds } }),
        ]
        var texts = ["command_line", "git_commit", "git_dirty", "machine"].map { ($0, provenance[$0] ?? "") }
        texts.append(("analysis_created", analysis.string("created") ?? ""))
        let outURL = directory.appendingPathComponent(RunLayout.pruneFile)
        try PruneFileWriter.write(PruneFileRecord(labelNames: dissected.labelNames, numbers: numbers, texts: texts, levels: records), to: outURL)
        try? FileManager.default.removeItem(at: checkpointURL)
        let modelSeconds = records.flatMap { $0.models.map(\.seconds) }
        say(String(format: "phase prune done in %@ (%d models, %@ on average per model); wrote %@; `filterlens report %@` adds its figure to report.html",
                   ProgressPrinter.duration(Date().timeIntervalSince(started)), modelSeconds.count,
                   ProgressPrinter.duration(modelSeconds.reduce(0, +) / Double(max(modelSeconds.count, 1))), outURL.path, command.runDirectory))
    }

    /// The models of `checkpoint` to take instead of measuring them, and the one to continue: with --resume, those of
    /// a checkpoint of the same plan (one of another plan is refused with the fix); without, none (a checkpoint there
    /// is replaced).
    static func resumable(_ command: PruneCommand, checkpoint: URL, plan: String) throws
        -> (finished: [PruneModelOutcome], inProgress: PruneModelInProgress?)
    {
        let exists = FileManager.default.fileExists(atPath: checkpoint.path)
        guard command.resume else {
            if exists { say("\(checkpoint.path): starting over without --resume; its models are replaced at the first checkpoint") }
            return ([], nil)
        }
        guard exists else {
            say("\(checkpoint.path): none found; --resume starts from the first model")
            return ([], nil)
        }
        let saved = try PruneCheckpointFile.load(from: checkpoint)
        guard saved.plan == plan else {
            throw UsageError("\(checkpoint.path): made for other flags or another run.h5, probe.h5 or analysis.h5 (\(saved.plan)); give the same flags to --resume, or run without --resume to start over")
        }
        return (saved.models, saved.inProgress)
    }
}

/// Prints a study's progress to standard error: level, model, retraining epoch, rate, the model's ETA and the ETA of
/// all the models left, at most every 0.5 s on a terminal and every 10 s in a log, and at each epoch's end.
final class PruneProgressPrinter {
    private var lastPrint = Date.distantPast
    private let terminal = isatty(STDERR_FILENO) != 0

    func show(_ progress: PruneStudyProgress) {
        guard let retrain = progress.retrain else { return }
        let done = retrain.imagesDone >= retrain.imagesTotal
        guard done || Date().timeIntervalSince(lastPrint) >= (terminal ? 0.5 : 10) else { return }
        lastPrint = Date()
        let percent = 100 * Double(retrain.imagesDone) / Double(max(retrain.imagesTotal, 1))
        let line = String(format: "  level %d/%d model %d/%d %@ epoch %d/%d  %5.1f%%  %6.0f img/s  loss %.4f  ETA %@ (model), %@ (all)",
                          progress.level, progress.levelCount, progress.model, progress.modelCount, progress.name,
                          retrain.epoch, retrain.epochs, percent, retrain.imagesPerSecond, retrain.loss,
                          ProgressPrinter.duration(retrain.secondsLeft), ProgressPrinter.duration(progress.secondsLeft))
        FileHandle.standardError.write(Data(((terminal ? "\r" : "") + line + (terminal && !done ? "" : "\n")).utf8))
    }
}

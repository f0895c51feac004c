import Foundation
import Pruning
import RunStore
import Training

/// What `filterlens prune` asks of a dissected run: the pruning levels, the retraining recipe's overrides, the
/// control seeds, and how to checkpoint and resume.
public struct PruneRequest: Sendable {
    /// The run folder (phases 1-3 complete).
    public var directory: RunDirectory
    /// One list of consecutive layers per level (empty: `DissectedRun.defaultLayerSets`).
    public var levels: [[Int]]
    /// The retraining recipe's settings over the run's phase 2 defaults.
    public var overrides: RetrainOverrides
    /// Seeds of the random-cluster controls, one model each per level.
    public var controlSeeds: [UInt64]
    /// Minutes between checkpoints inside a retraining (0: only after every model and on a stop request).
    public var checkpointMinutes: Double
    /// Continue from prune-checkpoint.h5.
    public var resume: Bool
    /// The process's provenance (command line, commit, machine), recorded in prune.h5.
    public var provenance: [String: String]

    public init(directory: RunDirectory, levels: [[Int]], overrides: RetrainOverrides, controlSeeds: [UInt64],
                checkpointMinutes: Double, resume: Bool, provenance: [String: String]) {
        self.directory = directory
        self.levels = levels
        self.overrides = overrides
        self.controlSeeds = controlSeeds
        self.checkpointMinutes = checkpointMinutes
        self.resume = resume
        self.provenance = provenance
    }
}

/// Pruning (AFCC against its random control, docs/pruning.md): reads run.h5, probe.h5, analysis.h5 and the data set
/// (and prune-checkpoint.h5 when resuming); writes prune-checkpoint.h5 after every model, inside a retraining every
/// `checkpointMinutes` and on a stop request, then prune.h5, and removes the checkpoint. Never edits an earlier
/// phase's files. Stopped, it throws `StoppedAfterSaving` saying what the checkpoint holds (the command line adds how
/// to continue).
enum PrunePhase {
    static func run(_ request: PruneRequest, _ context: PipelineContext) throws -> URL {
        let started = Date()
        let directory = request.directory
        let checkpointURL = directory.file(RunLayout.pruneCheckpointFile)
        let dissected = try DissectedRun(path: directory.url.relativePath)   // as given: its errors name the command to run on it
        let configuration = dissected.configuration, analysis = dissected.analysis
        let layerSets = request.levels.isEmpty ? dissected.defaultLayerSets : request.levels
        let clusters = try dissected.clusters(of: layerSets.joined())
        let levels = dissected.levels(layerSets, overrides: request.overrides)
        let (train, test) = try RunData.load(try RunData.dataset(of: configuration), for: configuration)
        let study = try PruneStudy(run: dissected.run, probes: dissected.probes, configuration: configuration, levels: levels,
                                   clusters: clusters, controlSeeds: request.controlSeeds, train: train, test: test)
        let plan = study.plan(sources: dissected.sourceIdentity)
        let (finished, inProgress) = try resumable(request, checkpoint: checkpointURL, plan: plan, context)
        let modelCount = levels.count * PruneStudy.modelNames(controlSeeds: study.controlSeeds).count
        let first = levels[0].recipe
        let continued = inProgress.map { ", \($0.position.name) of level \($0.position.level + 1) continued at epoch \($0.position.cursor.epoch + 1), image \($0.position.cursor.imagesDone)" } ?? ""
        context.say("prune \(directory.url.path): \(levels.count) level\(levels.count == 1 ? "" : "s"), \(modelCount) models (\(finished.count) from \(RunLayout.pruneCheckpointFile)\(continued)), \(first.epochs) retraining epochs each on \(train.count) images, lr decay x\(first.learningRateDecay)/epoch, momentum \(first.momentum), weight decay \(first.weightDecay)")
        for (index, network) in study.networks.enumerated() {
            let tensors = network.tensors, afcc = study.afcc[index]
            let considered = tensors.reduce(0) { $0 + $1.considered }
            let kept = afcc.all.map(\.keptWeights).reduce(0, +)
            let withoutCluster = zip(network.layers, afcc.clusters).map { "layer \($0): \($1.filtersWithoutCluster)/\($1.filterCount)" }
            context.say(String(format: "level %d/%d, layers %@ (lr %g): %@; filters with no cluster (they keep nothing): %@; AFCC prunes %.2f%% of the %d weights considered (%@), %.2f%% of the network's %d",
                               index + 1, levels.count, network.layers.map(String.init).joined(separator: ","), levels[index].recipe.learningRate,
                               tensors.map { "\($0.name) (\($0.considered) weights)" }.joined(separator: ", "), withoutCluster.joined(separator: ", "),
                               100 * (1 - Double(kept) / Double(considered)), considered,
                               zip(tensors, afcc.all).map { String(format: "%@ %.2f%%", $0.name, 100 * (1 - Double($1.keptWeights) / Double($0.considered))) }.joined(separator: ", "),
                               100 * Double(considered - kept) / Double(network.networkWeights), network.networkWeights))
        }
        let stops = context.stops
        var savedCount = finished.count
        var stoppedAt = ""
        var schedule = CheckpointSchedule(minutes: request.checkpointMinutes)
        let records: [PruneLevelRecord]
        do {
            records = try stops.stoppingAfterBatch {
                try study.run(finished: finished, inProgress: inProgress,
                              afterBatch: { position in
                                  let stop = stops.isStopRequested
                                  guard stop || schedule.isDue() else { return .proceed }
                                  try PruneCheckpointFile.save(plan: plan, models: position.finishedModels,
                                                               inProgress: position.inProgress(), to: checkpointURL)
                                  schedule.reset()
                                  savedCount = position.finishedModels.count
                                  stoppedAt = "; model \(position.name) of level \(position.level + 1) at epoch \(position.cursor.epoch + 1), image \(position.cursor.imagesDone)"
                                  return stop ? .stop : .proceed
                              },
                              saved: { models in
                                  try PruneCheckpointFile.save(plan: plan, models: models, to: checkpointURL)
                                  schedule.reset()
                                  savedCount = models.count
                                  stoppedAt = ""
                              },
                              progress: context.observer.pruneProgress, finished: { done in
                                  let level = study.levels[done.level - 1]
                                  context.say(String(format: "level %d/%d (layers %@) model %d/%d %@: pruned %.2f%% of the masked weights, %.2f%% of the network; SR %.4f before, %.4f after retraining  (%@%@; ETA %@)",
                                                     done.level, done.levelCount, level.layers.map(String.init).joined(separator: ","),
                                                     done.model, done.modelCount, done.result.name, 100 * (1 - done.keptFraction),
                                                     100 * (1 - done.networkKeptFraction), done.result.srBefore, done.result.srAfter,
                                                     Elapsed.text(done.result.seconds), done.fromCheckpoint ? ", from the checkpoint" : "",
                                                     Elapsed.text(done.secondsLeft)))
                              })
            }
        } catch is RetrainingStopped {
            let held = stoppedAt.isEmpty ? "; the model in progress was dropped" : stoppedAt
            throw StoppedAfterSaving(description: "\(checkpointURL.path) holds \(savedCount) of \(modelCount) models finished\(held)")
        }
        let numbers: [(String, Double)] = [
            ("train_images", Double(train.count)), ("test_images", Double(test.count)),
            ("analysis_threshold", analysis.number("threshold") ?? .nan),
            ("seconds", Date().timeIntervalSince(started)), ("resumed_models", Double(finished.count + (inProgress == nil ? 0 : 1))),
            ("model_seconds", records.reduce(0) { $0 + $1.models.reduce(0) { $0 + $1.seconds } }),
        ]
        var texts = ["command_line", "git_commit", "git_dirty", "machine"].map { ($0, request.provenance[$0] ?? "") }
        texts.append(("analysis_created", analysis.string("created") ?? ""))
        let outURL = directory.file(RunLayout.pruneFile)
        try PruneFileWriter.write(PruneFileRecord(labelNames: dissected.labelNames, numbers: numbers, texts: texts, levels: records), to: outURL)
        try? FileManager.default.removeItem(at: checkpointURL)
        let modelSeconds = records.flatMap { $0.models.map(\.seconds) }
        context.say(String(format: "phase prune done in %@ (%d models, %@ on average per model); wrote %@",
                           Elapsed.text(Date().timeIntervalSince(started)), modelSeconds.count,
                           Elapsed.text(modelSeconds.reduce(0, +) / Double(max(modelSeconds.count, 1))), outURL.path))
        return outURL
    }

    /// The models of `checkpoint` to take instead of measuring them, and the one to continue: with `resume`, those of
    /// a checkpoint of the same plan (one of another plan is refused); without, none (a checkpoint there is replaced).
    static func resumable(_ request: PruneRequest, checkpoint: URL, plan: String, _ context: PipelineContext) throws
        -> (finished: [PruneModelOutcome], inProgress: PruneModelInProgress?)
    {
        let exists = FileManager.default.fileExists(atPath: checkpoint.path)
        guard request.resume else {
            if exists { context.say("\(checkpoint.path): starting over without --resume; its models are replaced at the first checkpoint") }
            return ([], nil)
        }
        guard exists else {
            context.say("\(checkpoint.path): none found; --resume starts from the first model")
            return ([], nil)
        }
        let saved = try PruneCheckpointFile.load(from: checkpoint)
        guard saved.plan == plan else {
            throw InvalidRequest("\(checkpoint.path): made for other flags or another run.h5, probe.h5 or analysis.h5 (\(saved.plan)); give the same flags to --resume, or run without --resume to start over")
        }
        return (saved.models, saved.inProgress)
    }
}

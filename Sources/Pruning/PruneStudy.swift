import CIFAR
import Foundation
import RunStore
import Training

/// One pruning level: consecutive layers l_1 < ... < l_k, pruned and retrained with `recipe`.
public struct PruneLevel: Sendable, Equatable {
    public var layers: [Int]
    public var recipe: RetrainRecipe

    public init(layers: [Int], recipe: RetrainRecipe) {
        self.layers = layers
        self.recipe = recipe
    }
}

/// Where a study is, handed to the caller during every model: the level and model, the model's retraining, and the
/// rate and time left over all the models this call measures.
public struct PruneStudyProgress: Sendable {
    /// 1-based level, of `levelCount`; 1-based model within the level, of `modelCount`.
    public var level: Int, levelCount: Int, model: Int, modelCount: Int
    /// The model's name ("afcc", ...).
    public var name: String
    /// The model's retraining; nil while its SR before retraining is measured.
    public var retrain: RetrainProgress?
    /// Images of work this call has done and will do over all its models: per model, `epochs` x training images and
    /// twice the test images (the SR before and after). Models taken from a checkpoint count in neither.
    public var imagesDone: Int, imagesTotal: Int
    /// Seconds since this call began.
    public var elapsed: Double
    /// Images of work per second so far.
    public var imagesPerSecond: Double { elapsed > 0 ? Double(imagesDone) / elapsed : 0 }
    /// Seconds left over all the models of this call, at the rate so far.
    public var secondsLeft: Double { imagesDone > 0 ? Double(imagesTotal - imagesDone) / imagesPerSecond : .nan }
}

/// A model finished (or taken from the checkpoint), with its place and the time left.
public struct PruneModelFinished: Sendable {
    public var level: Int, levelCount: Int, model: Int, modelCount: Int
    public var result: PrunedModelResult
    /// Kept fraction of the masked tensors and of the whole network (`PruneMeasures`).
    public var keptFraction: Double, networkKeptFraction: Double
    /// Whether the result came from the checkpoint (not measured by this call).
    public var fromCheckpoint: Bool
    /// Seconds left over the models still to measure, at this call's rate so far (NaN before any was measured).
    public var secondsLeft: Double
}

/// Several pruning levels of one run: per level, the unpruned network, AFCC and one control per seed, each measured,
/// retrained and measured again (`PruneExperiment`), in level order and, within a level, in `modelNames` order.
public final class PruneStudy {
    public let levels: [PruneLevel]
    public let controlSeeds: [UInt64]
    /// Per level: the split network and AFCC's masks.
    public let networks: [PrunableNetwork]
    public let afcc: [PruneMasks]
    private let train: LabeledImages
    private let test: LabeledImages

    /// Splits the run's network (weights from `run`, the phase 2 probe of each level's last layer from `probes`) for
    /// every level and builds AFCC's masks from `clusters` (by layer: every layer of every level needs its F x L
    /// clusters). Throws `PruningError` for bad layers or clusters of the wrong shape.
    public init(run: RunFileReader, probes: ProbeSource, configuration: RunConfiguration, levels: [PruneLevel], clusters: [Int: FilterClusters],
                controlSeeds: [UInt64], train: LabeledImages, test: LabeledImages) throws {
        var networks: [PrunableNetwork] = []
        var afcc: [PruneMasks] = []
        for level in levels {
            let network = try PrunableNetwork(run: run, probes: probes, configuration: configuration, layers: level.layers,
                                              batchSize: level.recipe.batchSize)
            let layerClusters = try level.layers.map { layer in
                guard let entry = clusters[layer] else { throw PruningError("no clusters of layer \(layer): analyse it first") }
                guard entry.filterCount == network.filters(of: layer), entry.labelCount == network.architecture.labelCount else {
                    throw PruningError("clusters of layer \(layer) are \(entry.filterCount) x \(entry.labelCount), expected \(network.filters(of: layer)) x \(network.architecture.labelCount): re-run `filterlens analyze`")
                }
                return entry
            }
            let shape = network.headInputShape
            networks.append(network)
            afcc.append(PruneMasks.afcc(layerClusters, headHeight: shape.height, headWidth: shape.width))
        }
        self.levels = levels
        self.controlSeeds = controlSeeds
        self.networks = networks
        self.afcc = afcc
        self.train = train
        self.test = test
    }

    /// The models of every level, in order: "unpruned", "afcc", "control-seed<N>" per seed.
    public static func modelNames(controlSeeds: [UInt64]) -> [String] {
        ["unpruned", "afcc"] + controlSeeds.map { "control-seed\($0)" }
    }

    /// The models of level `index`: name, masks (nil for the unpruned network) and control seed.
    public func models(level index: Int) -> [(name: String, masks: PruneMasks?, seed: UInt64?)] {
        let shape = networks[index].headInputShape
        let afcc = afcc[index]
        return [("unpruned", nil, nil), ("afcc", afcc, nil)] + controlSeeds.map {
            ("control-seed\($0)", PruneMasks.control(of: afcc, seed: $0, headHeight: shape.height, headWidth: shape.width), $0)
        }
    }

    /// What identifies the study's results (levels, seeds, recipes, image counts) and, through `sources` (e.g.
    /// `AnalysisCheckpoint.identity` of run.h5 and analysis.h5), its inputs: a checkpoint of another plan is not resumed.
    public func plan(sources: String) -> String {
        let levels = levels.map { level in
            let r = level.recipe
            return "layers \(level.layers.map(String.init).joined(separator: ",")): \(r.epochs) epochs, lr \(r.learningRate) x\(r.learningRateDecay), momentum \(r.momentum), weight decay \(r.weightDecay), batch \(r.batchSize), augment \(r.augment), seed \(r.seed)"
        }
        return (levels + ["control seeds \(controlSeeds.map(String.init).joined(separator: ","))",
                          "\(train.count) training and \(test.count) test images", "sources: \(sources)"]).joined(separator: "; ")
    }

    /// Images of work of one model of `level` (see `PruneStudyProgress.imagesDone`).
    private func work(level: Int) -> Int { levels[level].recipe.epochs * train.count + 2 * test.count }

    /// Measures every model of every level, except those in `finished` (from a checkpoint of the same plan), and
    /// returns one record per level; `inProgress` (from the same checkpoint) continues the model it holds where its
    /// retraining stopped, to the numbers of an uninterrupted study, bit for bit. After every model measured, `saved`
    /// gets every model finished so far (to checkpoint them). After every batch inside a retraining epoch,
    /// `afterBatch` gets the place reached (to checkpoint it with `RetrainPosition.inProgress()`); when it answers
    /// `.stop`, `RetrainingStopped` is thrown. `progress` is told during every model, `finished` of every model at its end.
    public func run(finished done: [PruneModelOutcome], inProgress: PruneModelInProgress? = nil,
                    afterBatch: (RetrainPosition) throws -> BatchDecision = { _ in .proceed },
                    saved: ([PruneModelOutcome]) throws -> Void = { _ in },
                    progress: (PruneStudyProgress) -> Void = { _ in },
                    finished: (PruneModelFinished) -> Void = { _ in }) throws -> [PruneLevelRecord] {
        let start = Date()
        var outcomes = done
        let names = Self.modelNames(controlSeeds: controlSeeds)
        func outcome(_ level: Int, _ name: String) -> PruneModelOutcome? { done.first { $0.level == level && $0.name == name } }
        let total = levels.indices.reduce(0) { sum, level in
            sum + names.filter { outcome(level, $0) == nil }.count * work(level: level)
        }
        var imagesDone = 0
        var records: [PruneLevelRecord] = []
        for (index, level) in levels.enumerated() {
            let experiment = PruneExperiment(network: networks[index], recipe: level.recipe, train: train, test: test)
            let considered = networks[index].tensors.reduce(0) { $0 + $1.considered }
            let networkWeights = networks[index].networkWeights
            let models = models(level: index)
            var results: [PrunedModelResult] = []
            for (position, entry) in models.enumerated() {
                let result: PrunedModelResult
                let stored = outcome(index, entry.name)
                if let stored {
                    result = PrunedModelResult(name: entry.name, controlSeed: entry.seed, masks: entry.masks,
                                               srBefore: stored.srBefore, srAfter: stored.srAfter,
                                               retrainLoss: stored.retrainLoss, seconds: stored.seconds)
                } else {
                    let base = imagesDone
                    func tell(_ retrain: RetrainProgress?, _ images: Int) {
                        progress(PruneStudyProgress(level: index + 1, levelCount: levels.count, model: position + 1,
                                                    modelCount: models.count, name: entry.name, retrain: retrain,
                                                    imagesDone: base + images, imagesTotal: total,
                                                    elapsed: Date().timeIntervalSince(start)))
                    }
                    let resuming = inProgress.flatMap { $0.position.level == index && $0.position.name == entry.name ? $0 : nil }
                    let finishedSoFar = outcomes
                    result = try experiment.measure(
                        name: entry.name, masks: entry.masks, controlSeed: entry.seed, resuming: resuming,
                        afterBatch: { position in
                            var position = position
                            position.level = index
                            position.finishedModels = finishedSoFar
                            return try afterBatch(position)
                        },
                        measured: { _ in tell(nil, test.count) },
                        progress: { tell($0, test.count + ($0.epoch - 1) * $0.imagesTotal + $0.imagesDone) })
                    imagesDone += work(level: index)
                    outcomes.append(PruneModelOutcome(level: index, name: entry.name, srBefore: result.srBefore,
                                                      srAfter: result.srAfter, retrainLoss: result.retrainLoss,
                                                      seconds: result.seconds))
                    try saved(outcomes)
                }
                results.append(result)
                let kept = entry.masks.map { $0.all.map(\.keptWeights).reduce(0, +) } ?? considered
                let elapsed = Date().timeIntervalSince(start)
                finished(PruneModelFinished(
                    level: index + 1, levelCount: levels.count, model: position + 1, modelCount: models.count, result: result,
                    keptFraction: Double(kept) / Double(considered),
                    networkKeptFraction: 1 - Double(considered - kept) / Double(networkWeights), fromCheckpoint: stored != nil,
                    secondsLeft: imagesDone > 0 ? Double(total - imagesDone) * elapsed / Double(imagesDone) : .nan))
            }
            let recipe = level.recipe
            records.append(experiment.levelRecord(results, numbers: [
                ("retrain_epochs", Double(recipe.epochs)), ("retrain_learning_rate", recipe.learningRate),
                ("retrain_lr_decay", recipe.learningRateDecay), ("retrain_momentum", recipe.momentum),
                ("retrain_weight_decay", recipe.weightDecay), ("retrain_batch_size", Double(recipe.batchSize)),
                ("retrain_augment", recipe.augment ? 1 : 0), ("seed", Double(recipe.seed)),
                ("probe_final_test_sr", networks[index].probeFinalSR),
            ]))
        }
        return records
    }
}

import CIFAR
import Engine
import Foundation
import RunStore
import Training
import Tensor

/// The masks of one pruned model: the head's (labels x C*H*W) and one kernel mask (F_out x F_in) per pruned
/// convolution l_2 ... l_k, with the clusters they follow (one `FilterClusters` per pruned layer, in order).
public struct PruneMasks: Sendable {
    public var head: WeightMask
    public var convolutions: [WeightMask]
    public var clusters: [FilterClusters]

    /// AFCC's masks from the clusters of the pruned layers (in `layers` order; the head is the last layer's).
    public static func afcc(_ clusters: [FilterClusters], headHeight: Int, headWidth: Int) -> PruneMasks {
        PruneMasks(head: AFCC.headMask(clusters.last!, height: headHeight, width: headWidth),
                   convolutions: zip(clusters, clusters.dropFirst()).map { AFCC.convolutionMask(input: $0, output: $1) },
                   clusters: clusters)
    }

    /// The control of `afcc` drawn from `seed`: the head mask from random clusters of the same sizes, the kernel masks a
    /// degree-preserving rewiring of AFCC's (each layer's seed: `SeedStream.controlClustersSeed`, `controlRewiringSeed`).
    public static func control(of afcc: PruneMasks, seed: UInt64, headHeight: Int, headWidth: Int) -> PruneMasks {
        let random = afcc.clusters.enumerated().map {
            $0.element.randomized(seed: SeedStream.controlClustersSeed(controlSeed: seed, index: $0.offset))
        }
        return PruneMasks(head: AFCC.headMask(random.last!, height: headHeight, width: headWidth),
                          convolutions: afcc.convolutions.enumerated().map {
                              AFCC.rewired($0.element, seed: SeedStream.controlRewiringSeed(controlSeed: seed, index: $0.offset))
                          },
                          clusters: random)
    }

    /// All masks in tensor order: head first, then the convolutions.
    public var all: [WeightMask] { [head] + convolutions }
}

/// What one model gave.
public struct PrunedModelResult: Sendable {
    public var name: String
    public var controlSeed: UInt64?
    public var masks: PruneMasks?
    public var srBefore: Double
    public var srAfter: Double
    /// Mean training loss of each retraining epoch.
    public var retrainLoss: [Double]
    /// Wall-clock seconds: building the model, both SR measurements and the retraining.
    public var seconds: Double

    public init(name: String, controlSeed: UInt64?, masks: PruneMasks?, srBefore: Double, srAfter: Double,
                retrainLoss: [Double], seconds: Double) {
        self.name = name
        self.controlSeed = controlSeed
        self.masks = masks
        self.srBefore = srBefore
        self.srAfter = srAfter
        self.retrainLoss = retrainLoss
        self.seconds = seconds
    }
}

/// Retraining stopped on request (a signal) inside an epoch, after the caller saved the model's place
/// (`RetrainPosition`) or chose to drop it.
public struct RetrainingStopped: Error, Sendable {
    public init() {}
}

/// Where a model's retraining stands after a batch inside an epoch: what a checkpoint of it records
/// (`PruneModelInProgress`), from which `PruneStudy.run(inProgress:)` continues to the same numbers, bit for bit.
public struct RetrainPosition {
    /// Level index (0-based) and model name, set by `PruneStudy`.
    public var level: Int
    public var name: String
    /// The model being retrained: its `state` is what to save, valid until the next batch.
    public let model: MaskedModel
    public let srBefore: Double
    /// Mean training loss of each finished epoch.
    public let epochLosses: [Double]
    /// The place inside the epoch in progress.
    public let cursor: EpochCursor
    /// Seconds spent on the model so far, before a resume included.
    public let seconds: Double
    /// The models of the study finished so far (set by `PruneStudy`).
    public var finishedModels: [PruneModelOutcome] = []

    /// The checkpoint record of this position: a copy of the model's state now.
    public func inProgress() -> PruneModelInProgress {
        PruneModelInProgress(
            position: .init(level: level, name: name, srBefore: srBefore, retrainLoss: epochLosses, cursor: cursor,
                            seconds: seconds),
            buffers: Dictionary(uniqueKeysWithValues: model.state.map { ($0.name, $0.buffer.array) }))
    }
}

/// Progress of one retraining epoch, handed to a caller's callback every 10 batches and at the epoch's end.
public struct RetrainProgress: Sendable {
    /// E.g. "retrain afcc".
    public var phase: String
    /// 1-based epoch, of `epochs`.
    public var epoch: Int, epochs: Int
    /// Training images done in this epoch, of `imagesTotal`.
    public var imagesDone: Int, imagesTotal: Int
    /// Seconds since the epoch began.
    public var elapsed: Double
    /// Mean training loss of the epoch so far.
    public var loss: Double
    /// Images per second so far.
    public var imagesPerSecond: Double { elapsed > 0 ? Double(imagesDone) / elapsed : 0 }
    /// Seconds left in this model's retraining (this epoch and the ones after it) at the current rate.
    public var secondsLeft: Double {
        imagesPerSecond > 0 ? Double(imagesTotal * (epochs - epoch + 1) - imagesDone) / imagesPerSecond : .nan
    }
}

/// Retrains and measures pruned copies of a `PrunableNetwork` on a run's images.
public final class PruneExperiment {
    public let network: PrunableNetwork
    public let recipe: RetrainRecipe
    private let train: LabeledImages
    private let test: LabeledImages
    private let input: FloatBuffer
    private let labels: Int32Buffer

    public init(network: PrunableNetwork, recipe: RetrainRecipe, train: LabeledImages, test: LabeledImages) {
        self.network = network
        self.recipe = recipe
        self.train = train
        self.test = test
        input = FloatBuffer(count: network.batchSize * LabeledImages.pixelsPerImage)
        labels = Int32Buffer(count: network.batchSize)
    }

    /// Largest test-set block output of l_1 kept in memory (Floats, 1 GiB): below it the frozen prefix runs over the
    /// test set once for all models; above it, once per measurement.
    public static let testFeatureBudget = 1 << 28
    /// The frozen prefix's block outputs of the test set (N x C x H x W), when within `testFeatureBudget`.
    private var testFeatures: [Float]?
    private var testLabels: [Int32] { test.labels.map { Int32($0) } }

    /// Test SR of `model` (`PruneMeasures.srDefinition`): unaugmented test images, inference mode.
    public func successRate(_ model: MaskedModel) -> Double {
        let shape = network.architecture.blockOutputShape(layer: network.layers[0])
        let perImage = shape.channels * shape.height * shape.width
        if testFeatures == nil && perImage * test.count <= Self.testFeatureBudget {
            var features = [Float](repeating: 0, count: perImage * test.count)
            forEachTestBatch { from, batch in
                let output = network.features(input.pointer, batch: batch)
                features.withUnsafeMutableBufferPointer { ($0.baseAddress! + from * perImage).update(from: output, count: batch * perImage) }
            }
            testFeatures = features
        }
        var correct = 0
        if let features = testFeatures {
            let labels = testLabels
            var from = 0
            while from < test.count {
                let batch = min(network.batchSize, test.count - from)
                correct += features.withUnsafeBufferPointer { features in
                    labels.withUnsafeBufferPointer { labels in
                        model.correct(features: features.baseAddress! + from * perImage, labels: labels.baseAddress! + from, batch: batch)
                    }
                }
                from += batch
            }
        } else {
            forEachTestBatch { _, batch in
                correct += model.correct(features: network.features(input.pointer, batch: batch), labels: labels.pointer, batch: batch)
            }
        }
        return Double(correct) / Double(max(test.count, 1))
    }

    /// Fills `input` and `labels` with each batch of the test set in order (unaugmented) and calls `body(first, size)`.
    private func forEachTestBatch(_ body: (Int, Int) -> Void) {
        var from = 0
        var none: SeededGenerator? = nil
        let assembler = BatchAssembler.unaugmented
        while from < test.count {
            let batch = min(network.batchSize, test.count - from)
            assembler.fill(input: input.pointer, labels: labels.pointer, from: test, indices: from..<(from + batch), random: &none)
            body(from, batch)
            from += batch
        }
    }

    /// Retrains `model` for `recipe.epochs` epochs with its masks held; returns the mean training loss of each epoch.
    /// Every model sees the same batches: epoch e's order and augmentation are streams
    /// `SeedStream.retrainingOrder(epoch: e)` and `retrainingAugmentation(epoch: e)` of `recipe.seed`. `resuming` (the
    /// losses of the epochs finished and the place inside the next one, with the model's state restored) continues an
    /// interrupted retraining. After every batch but an epoch's last, `afterBatch` gets the finished epochs' losses
    /// and the place reached (to checkpoint there); when it answers `.stop`, `RetrainingStopped` is thrown. A loss
    /// that is not finite throws `DivergedError` (site `.retraining`).
    public func retrain(_ model: MaskedModel, phase: String, resuming: (losses: [Double], cursor: EpochCursor)? = nil,
                        afterBatch: (_ epochLosses: [Double], EpochCursor) throws -> BatchDecision = { _, _ in .proceed },
                        progress: (RetrainProgress) -> Void) throws -> [Double] {
        var losses: [Double] = resuming?.losses ?? []
        for epoch in losses.count..<recipe.epochs {
            var generator = SeededGenerator(seed: recipe.seed, stream: SeedStream.retrainingOrder(epoch: epoch))
            let order = Array(0..<train.count).shuffled(using: &generator)
            let augmentation = recipe.augment ? SeededGenerator(seed: recipe.seed, stream: SeedStream.retrainingAugmentation(epoch: epoch)) : nil
            let rate = Float(recipe.learningRate * pow(recipe.learningRateDecay, Double(epoch)))
            let pass = EpochPass(pass: .retrain, epoch: epoch, images: train, order: order, batchSize: network.batchSize,
                                 augmentation: augmentation, shiftFill: recipe.shiftFill)
            let outcome = try pass.run(
                resuming: resuming?.cursor, models: 1,
                step: { batch in
                    EpochPass.StepResult(losses: [model.step(batch.input, labels: batch.labels, batch: batch.size,
                                                             learningRate: rate).loss])
                },
                diverged: { _, loss in
                    DivergedError(site: .retraining(phase), epoch: epoch + 1, batch: nil, loss: loss, learningRate: rate)
                },
                progress: { batch in
                    progress(RetrainProgress(phase: phase, epoch: epoch + 1, epochs: recipe.epochs, imagesDone: batch.imagesDone,
                                             imagesTotal: batch.imagesTotal, elapsed: batch.elapsed, loss: batch.loss))
                },
                afterBatch: { cursor in try afterBatch(losses, cursor) })
            guard case .finished(let totals) = outcome else { throw RetrainingStopped() }
            losses.append(totals.meanLosses[0])
        }
        return losses
    }

    /// Builds model `name` with `masks` (nil: unpruned), measures its SR, retrains it and measures again.
    /// `measured` is told after the first SR measurement (the SR before retraining). `resuming` (a checkpoint's model
    /// in progress) restores the model's state and SR before, and continues its retraining where it stopped.
    /// `afterBatch` gets the place reached after every batch inside an epoch (see `retrain`).
    public func measure(name: String, masks: PruneMasks?, controlSeed: UInt64? = nil, resuming: PruneModelInProgress? = nil,
                        afterBatch: (RetrainPosition) throws -> BatchDecision = { _ in .proceed },
                        measured: (Double) -> Void = { _ in },
                        progress: (RetrainProgress) -> Void) throws -> PrunedModelResult {
        let start = Date()
        let earlier = resuming?.position.seconds ?? 0
        let model = network.makeModel(recipe: recipe)
        if let masks { model.apply(head: masks.head, convolutions: masks.convolutions) }
        let before: Double
        if let resuming {
            try model.restore(resuming.buffers)
            before = resuming.position.srBefore
        } else {
            before = successRate(model)
            measured(before)
        }
        let losses = try retrain(
            model, phase: "retrain \(name)", resuming: resuming.map { ($0.position.retrainLoss, $0.position.cursor) },
            afterBatch: { losses, cursor in
                try afterBatch(RetrainPosition(level: 0, name: name, model: model, srBefore: before, epochLosses: losses,
                                               cursor: cursor, seconds: earlier + Date().timeIntervalSince(start)))
            },
            progress: progress)
        let after = successRate(model)
        return PrunedModelResult(name: name, controlSeed: controlSeed, masks: masks, srBefore: before, srAfter: after,
                                 retrainLoss: losses, seconds: earlier + Date().timeIntervalSince(start))
    }

    /// The level record of `prune.h5` for these results (one per model, in order); `numbers` are the level's own
    /// attributes.
    public func levelRecord(_ results: [PrunedModelResult], numbers: [(String, Double)]) -> PruneLevelRecord {
        let tensors = network.tensors
        let models = results.map { result in
            PruneModelRecord(
                name: result.name, controlSeed: result.controlSeed, srBefore: result.srBefore, srAfter: result.srAfter,
                retrainLoss: result.retrainLoss, seconds: result.seconds,
                kept: result.masks?.all.map(\.keptWeights) ?? tensors.map(\.considered),
                masks: result.masks?.all.map(\.keep) ?? [],
                clusters: result.masks.map { masks in
                    zip(network.layers, masks.clusters).map { ($0, $1.filterCount, $1.clusterOfLabel) }
                } ?? [])
        }
        return PruneLevelRecord(layers: network.layers, numbers: numbers, networkWeights: network.networkWeights,
                                tensors: tensors, models: models)
    }
}

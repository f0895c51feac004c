import CIFAR
import Engine
import Foundation
import RunStore
import Tensor

/// Phase 2: for every convolutional layer l, a bias-free FC head trained on the frozen network's block output of l.
///
/// All heads train in one pass: each batch runs the frozen network once (inference mode: batch norm uses its
/// running statistics) and feeds every head its layer's block output (batch x C*H*W features).
public final class Prober {
    /// The recipe.
    public let recipe: ProbeConfiguration
    /// The frozen network.
    public let network: Network
    /// One head per convolutional layer, index 0 = layer 1.
    public let heads: [LinearHead]
    /// Per layer, the epochs trained so far.
    public private(set) var history: [[ProbeEpoch]]
    /// Where the epoch in progress stopped (see `Trainer.cursor`); nil between epochs.
    public private(set) var cursor: EpochCursor?
    /// Wall-clock seconds of each completed epoch (training and test pass, all heads together).
    public private(set) var epochSeconds: [Double] = []
    /// The seed of head initialization, shuffling and augmentation.
    public let seed: UInt64
    /// What the augmentation's shift puts in uncovered pixels (the run's, as in phase 1).
    public let shiftFill: ShiftFill
    private var optimizers: [SGD]
    private let train: LabeledImages
    private let test: LabeledImages

    /// Heads for every layer of `network`, initialized from `seed`; augmented batches fill shifts as `shiftFill` says.
    public init(network: Network, recipe: ProbeConfiguration, train: LabeledImages, test: LabeledImages, seed: UInt64,
                shiftFill: ShiftFill) {
        self.shiftFill = shiftFill
        precondition(recipe.layerLearningRates.map { $0.count == network.architecture.convolutionCount } ?? true,
                     "one learning rate per convolutional layer")
        self.network = network
        self.recipe = recipe
        self.train = train
        self.test = test
        self.seed = seed
        let architecture = network.architecture
        heads = (1...architecture.convolutionCount).map { layer in
            let shape = architecture.blockOutputShape(layer: layer)
            return LinearHead(inputSize: shape.channels * shape.height * shape.width, labelCount: architecture.labelCount,
                              maxBatch: recipe.batchSize, seed: SeedStream.probeInitialization(probeSeed: seed, layer: layer))
        }
        optimizers = heads.map { head in
            SGD(parameterCount: head.weight.count, momentum: Float(recipe.momentum), weightDecay: Float(recipe.weightDecay),
                nesterov: true)
        }
        history = heads.map { _ in [] }
    }

    /// Epochs completed.
    public var completedEpochs: Int { history.first?.count ?? 0 }

    /// The flat state buffers a checkpoint holds, by name: "head01.weight", "head01.velocity", ... (index 0 = layer 1).
    public var stateBuffers: [(name: String, buffer: FloatBuffer)] {
        heads.indices.flatMap { index in
            let head = "head" + RunLayout.layerName(index + 1).dropFirst("layer".count)
            return [(head + ".weight", heads[index].weight), (head + ".velocity", optimizers[index].velocity)]
        }
    }

    /// What a checkpoint records besides the buffers.
    public var progressRecord: ProbeCheckpoint.Progress {
        ProbeCheckpoint.Progress(recipe: recipe, seed: seed, history: history, epochSeconds: epochSeconds)
    }

    /// Restores a phase 2 checkpoint; it must come from the same recipe, seed and network.
    public func restore(_ checkpoint: ProbeCheckpoint, path: String) throws(RunStoreError) {
        let fix = "the phase 2 checkpoint belongs to other settings: resume with the flags it was started with, or delete it"
        let differences = recipe.differences(from: checkpoint.progress.recipe)
        guard differences.isEmpty else {
            throw RunStoreError(path: path, object: "/@progress_json",
                                problem: "the flags given differ from the checkpoint's recipe (given vs checkpoint: "
                                    + differences.joined(separator: ", ") + ")", fix: fix)
        }
        guard checkpoint.progress.seed == seed else {
            throw RunStoreError(path: path, object: "/@progress_json",
                                problem: "the checkpoint's probe seed is \(checkpoint.progress.seed), the flags give \(seed)",
                                fix: "resume with --probe-seed \(checkpoint.progress.seed), or delete the checkpoint")
        }
        guard checkpoint.progress.history.count == heads.count else {
            throw RunStoreError(path: path, object: "/@progress_json", problem: "layer count differs from this run's", fix: fix)
        }
        for (name, buffer) in stateBuffers {
            guard let values = checkpoint.buffers[name], values.count == buffer.count else {
                throw RunStoreError(path: path, object: "/\(name)", problem: "missing or of the wrong size for this network", fix: fix)
            }
            values.withUnsafeBufferPointer { buffer.pointer.update(from: $0.baseAddress!, count: values.count) }
        }
        history = checkpoint.progress.history
        epochSeconds = checkpoint.progress.epochSeconds ?? []
        cursor = checkpoint.cursor
    }

    /// Learning rate of the head of `layer` (1-based) in epoch `epoch` (0-based): its starting rate times decay^epoch.
    public func learningRate(layer: Int, epoch: Int) -> Float {
        Float(recipe.learningRate(layer: layer, epoch: epoch))
    }

    /// Trains every head for one epoch (continuing it from `cursor` if it stopped inside), then measures each head's
    /// test success rate. `afterBatch` works as in `Trainer.trainEpoch`; a stopped epoch returns nil.
    /// A head whose loss is not finite stops phase 2 with `DivergedError` (the last checkpoint is kept).
    public func trainEpoch(progress: (BatchProgress) -> Void,
                           afterBatch: (EpochCursor) throws -> BatchDecision = { _ in .proceed }) throws -> [ProbeEpoch]? {
        let epoch = completedEpochs
        var generator = SeededGenerator(seed: seed, stream: SeedStream.probeOrder(epoch: epoch))
        let order = Array(0..<train.count).shuffled(using: &generator)
        let augmentation = recipe.augment ? SeededGenerator(seed: seed, stream: SeedStream.probeAugmentation(epoch: epoch)) : nil
        let rates = heads.indices.map { learningRate(layer: $0 + 1, epoch: epoch) }
        let pass = EpochPass(pass: .probe, epoch: epoch, images: train, order: order, batchSize: recipe.batchSize,
                             augmentation: augmentation, shiftFill: shiftFill)
        let outcome = try pass.run(
            resuming: cursor, models: heads.count,
            step: { batch in
                _ = network.forward(batch.input, batch: batch.size, mode: .inference)
                let losses = heads.indices.map { index in
                    let head = heads[index], features = network.blockOutput(layer: index + 1).baseAddress!
                    _ = head.forward(features: features, batch: batch.size)
                    let loss = head.backward(features: features, labels: batch.labels, batch: batch.size).loss
                    optimizers[index].step(parameters: head.weight, gradients: head.gradient, learningRate: rates[index])
                    return loss
                }
                return EpochPass.StepResult(losses: losses)
            },
            diverged: { index, loss in
                DivergedError(site: .probe(layer: index + 1), epoch: epoch + 1, batch: nil, loss: loss, learningRate: rates[index])
            },
            progress: progress, afterBatch: afterBatch)
        guard case .finished(let totals) = outcome else {
            if case .stopped(let position) = outcome { cursor = position }
            return nil
        }
        cursor = nil
        let successRates = evaluate()
        var epochs: [ProbeEpoch] = []
        for index in heads.indices {
            let record = ProbeEpoch(epoch: epoch + 1, trainLoss: totals.meanLosses[index],
                                    testSR: successRates[index])
            history[index].append(record)
            epochs.append(record)
        }
        epochSeconds.append(Date().timeIntervalSince(totals.started))
        return epochs
    }

    /// Test success rate of every head (inference mode, unaugmented).
    public func evaluate() -> [Double] {
        var correct = [Int](repeating: 0, count: heads.count)
        InferencePass(batchSize: recipe.batchSize).run(network, over: test) { batch, labels in
            for (index, head) in heads.enumerated() {
                correct[index] += head.evaluate(features: network.blockOutput(layer: index + 1).baseAddress!,
                                                labels: labels, batch: batch).correct
            }
        }
        return correct.map { Double($0) / Double(max(test.count, 1)) }
    }

    /// Why a head's training looks unsettled: "loss not finite" when the last epoch's loss is NaN or infinite (a
    /// probe.h5 written elsewhere; FilterLens's phase 2 stops instead), "loss rising" when the last epoch's loss
    /// exceeds the one before, "loss high" when it stays above chance level (ln labels), else "ok".
    public static func lossFlag(_ epochs: [ProbeEpoch], labelCount: Int) -> String {
        guard let last = epochs.last else { return "not trained" }
        if !last.trainLoss.isFinite { return "loss not finite" }
        if epochs.count >= 2 && last.trainLoss > epochs[epochs.count - 2].trainLoss { return "loss rising" }
        if last.trainLoss > log(Double(labelCount)) { return "loss high" }
        return "ok"
    }

    /// The trained heads as stored records.
    public func probeHeads() -> [ProbeHead] {
        heads.indices.map { index in
            let shape = network.architecture.blockOutputShape(layer: index + 1)
            return ProbeHead(layer: index + 1, weight: heads[index].weight.array, labelCount: network.architecture.labelCount,
                             channels: shape.channels, height: shape.height, width: shape.width, epochs: history[index],
                             lossFlag: Self.lossFlag(history[index], labelCount: network.architecture.labelCount))
        }
    }
}

import CIFAR
import Engine
import Foundation
import RunStore
import Tensor

/// Progress inside an epoch, handed to a caller's callback every few batches.
public struct BatchProgress: Sendable {
    /// The passes that report progress.
    public enum Pass: String, Sendable {
        /// Phase 1's training epoch.
        case train
        /// Phase 2's probe epoch.
        case probe
        /// Pruning's retraining epoch of a masked model.
        case retrain
        /// Phase 1's export of the test set's block outputs to activations.h5.
        case activations
    }

    /// What is running.
    public var pass: Pass
    /// 1-based epoch.
    public var epoch: Int
    /// Images done in this pass and in all.
    public var imagesDone: Int, imagesTotal: Int
    /// Seconds since the pass began.
    public var elapsed: Double
    /// Running mean loss of the pass so far (NaN where none).
    public var loss: Double

    /// Images per second so far.
    public var imagesPerSecond: Double { elapsed > 0 ? Double(imagesDone) / elapsed : 0 }
    /// Seconds left in this pass at the current rate.
    public var secondsLeft: Double {
        imagesPerSecond > 0 ? Double(imagesTotal - imagesDone) / imagesPerSecond : .nan
    }
}

/// Phase 1: trains a network on CIFAR-10 with the recipe of a `RunConfiguration`, one epoch at a time.
public final class Trainer {
    /// The run's configuration.
    public let configuration: RunConfiguration
    /// The network being trained.
    public let network: Network
    /// Metrics of the epochs completed so far.
    public private(set) var metrics: [EpochMetrics] = []
    /// Where the epoch in progress stopped, when `trainEpoch` stopped early or a checkpoint taken inside an epoch
    /// was restored; nil between epochs.
    public private(set) var cursor: EpochCursor?
    private var optimizer: SGD
    private let train: LabeledImages
    private let test: LabeledImages
    private let inference: InferencePass

    /// Builds the network of `configuration` (initialized from its seed as its recorded convolution initialization
    /// says, with its recorded convolution algorithms).
    public init(configuration: RunConfiguration, architecture: Architecture, train: LabeledImages, test: LabeledImages) throws {
        self.configuration = configuration
        self.train = train
        self.test = test
        network = Network(architecture: architecture, maxBatch: configuration.batchSize, seed: configuration.seed,
                          algorithms: try ConvolutionAlgorithm.recorded(configuration.convolutionAlgorithms, for: architecture),
                          convolutionInitialization: try ConvolutionInitialization.recorded(configuration.convolutionInitialization))
        optimizer = SGD(parameterCount: network.parameters.buffer.count, momentum: Float(configuration.momentum),
                        weightDecay: Float(configuration.weightDecay), nesterov: true)
        inference = InferencePass(batchSize: configuration.batchSize)
    }

    /// Epochs completed.
    public var completedEpochs: Int { metrics.count }

    /// The flat state buffers a checkpoint holds, by name.
    public var stateBuffers: [(name: String, buffer: FloatBuffer)] {
        [("parameters", network.parameters.buffer), ("statistics", network.statistics.buffer), ("velocity", optimizer.velocity)]
    }

    /// Restores a checkpoint's state; the caller has checked that its configuration matches.
    public func restore(_ checkpoint: Checkpoint) throws(RunStoreError) {
        for (name, buffer) in stateBuffers {
            guard let values = checkpoint.buffers[name], values.count == buffer.count else {
                throw RunStoreError(path: RunLayout.checkpointFile, object: "/\(name)",
                                    problem: "missing or of the wrong size for this architecture",
                                    fix: "start the run again with --force (its epochs are lost)")
            }
            values.withUnsafeBufferPointer { buffer.pointer.update(from: $0.baseAddress!, count: values.count) }
        }
        metrics = checkpoint.metrics
        cursor = checkpoint.cursor
    }

    /// The order of training images in epoch `epoch` (0-based): a seeded shuffle.
    public func order(epoch: Int) -> [Int] {
        var generator = SeededGenerator(seed: configuration.seed, stream: SeedStream.trainingOrder(epoch: epoch))
        return Array(0..<train.count).shuffled(using: &generator)
    }

    /// Trains epoch `completedEpochs + 1` (continuing it from `cursor` if it stopped inside) and evaluates the test
    /// set; returns and records its metrics. After every batch but the last, `afterBatch` gets the position reached
    /// (`saveCheckpoint(cursor:provenance:to:)` saves it there); when it answers `.stop`, the epoch stops there,
    /// `cursor` keeps the position and the result is nil.
    public func trainEpoch(progress: (BatchProgress) -> Void,
                           afterBatch: (EpochCursor) throws -> BatchDecision = { _ in .proceed }) throws -> EpochMetrics? {
        let epoch = completedEpochs
        let batchSize = configuration.batchSize
        let batchesPerEpoch = (train.count + batchSize - 1) / batchSize
        let augmentation = configuration.augment
            ? SeededGenerator(seed: configuration.seed, stream: SeedStream.trainingAugmentation(epoch: epoch)) : nil
        var rate = configuration.learningRate(epoch: epoch, batch: epoch * batchesPerEpoch, batchesPerEpoch: batchesPerEpoch)
        let pass = EpochPass(pass: .train, epoch: epoch, images: train, order: order(epoch: epoch), batchSize: batchSize,
                             augmentation: augmentation, shiftFill: configuration.shiftFillUsed)
        let outcome = try pass.run(
            resuming: cursor, models: 1,
            step: { batch in
                rate = configuration.learningRate(epoch: epoch, batch: epoch * batchesPerEpoch + batch.index,
                                                  batchesPerEpoch: batchesPerEpoch)
                _ = network.forward(batch.input, batch: batch.size, mode: .training)
                let (loss, right) = network.backward(labels: batch.labels)
                return EpochPass.StepResult(losses: [loss], correct: right)
            },
            update: { _ in
                optimizer.step(parameters: network.parameters.buffer, gradients: network.gradients.buffer, learningRate: Float(rate))
            },
            diverged: { _, loss in DivergedError(site: .network, epoch: epoch + 1, batch: nil, loss: loss) },
            progress: progress, afterBatch: afterBatch)
        guard case .finished(let totals) = outcome else {
            if case .stopped(let position) = outcome { cursor = position }
            return nil
        }
        cursor = nil
        let trainSeconds = Date().timeIntervalSince(totals.started)
        let evaluation = evaluate(test)
        guard evaluation.loss.isFinite else {
            throw DivergedError(site: .network, epoch: epoch + 1, batch: nil, loss: Float(evaluation.loss))
        }
        let metrics = EpochMetrics(
            epoch: epoch + 1, learningRate: rate, trainLoss: totals.meanLosses[0],
            trainSR: Double(totals.correct) / Double(max(totals.images, 1)), testLoss: evaluation.loss,
            testSR: evaluation.successRate, seconds: Date().timeIntervalSince(totals.started),
            imagesPerSecond: Double(totals.images) / trainSeconds)
        self.metrics.append(metrics)
        return metrics
    }

    /// Mean loss and success rate on `images` in inference mode.
    public func evaluate(_ images: LabeledImages) -> (loss: Double, successRate: Double) {
        var lossSum = 0.0, correct = 0
        forEachBatch(of: images) { batch, labels in
            let evaluation = network.evaluate(labels: labels)
            lossSum += Double(evaluation.loss) * Double(batch)
            correct += evaluation.correct
        }
        return (lossSum / Double(max(images.count, 1)), Double(correct) / Double(max(images.count, 1)))
    }

    /// Runs the network in inference mode over `images` (unaugmented, in order), calling `body` after each batch's
    /// forward pass with the batch size and the batch's labels; the network's block outputs then hold that batch.
    public func forEachBatch<E: Error>(of images: LabeledImages, _ body: (Int, UnsafePointer<Int32>) throws(E) -> Void) throws(E) {
        try inference.run(network, over: images, body)
    }
}

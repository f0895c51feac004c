import CIFAR
import Foundation
import RunStore
import Tensor

/// A training loss became NaN or infinite. Phases 1 and 2 keep their last good checkpoint; pruning drops the model
/// it was retraining. The advice (which flag to change) is the command line's.
public struct DivergedError: Error, CustomStringConvertible, Sendable, Equatable {
    /// What diverged.
    public enum Site: Sendable, Equatable {
        /// Phase 1's network.
        case network
        /// Phase 2's probe of a layer (1-based).
        case probe(layer: Int)
        /// Pruning's retraining of a model ("retrain afcc", ...).
        case retraining(String)
    }

    public var site: Site
    /// 1-based epoch.
    public var epoch: Int
    /// 1-based batch whose training loss diverged; nil when the test loss after the epoch did (phase 1).
    public var batch: Int?
    public var loss: Float
    /// The learning rate of the diverged model in that epoch (phase 2 and pruning).
    public var learningRate: Float?

    public init(site: Site, epoch: Int, batch: Int?, loss: Float, learningRate: Float? = nil) {
        self.site = site
        self.epoch = epoch
        self.batch = batch
        self.loss = loss
        self.learningRate = learningRate
    }

    public var description: String {
        let rate = learningRate.map { " (learning rate \($0))" } ?? ""
        let place = "at epoch \(epoch), batch \(batch ?? 0)"
        switch site {
        case .network:
            let what = batch == nil ? "test loss \(divergedLossText(loss)) after epoch \(epoch)" : "loss \(divergedLossText(loss)) \(place)"
            return "training diverged: \(what); the last good checkpoint is kept"
        case .probe(let layer):
            return "phase 2 diverged: the probe of layer \(layer) reached loss \(divergedLossText(loss)) \(place)\(rate); "
                + "the last good checkpoint is kept"
        case .retraining(let model):
            return "pruning's retraining diverged: \(model) reached loss \(divergedLossText(loss)) \(place)\(rate)"
        }
    }
}

/// A diverged loss as an error line prints it: "NaN" (whatever its sign bit), "inf", or the number.
public func divergedLossText(_ loss: Float) -> String { loss.isNaN ? "NaN" : "\(loss)" }

/// What a training loop does after a batch: go on, or stop (the caller has saved a checkpoint).
public enum BatchDecision: Sendable {
    case proceed, stop
}

/// The one batch loop of every training pass: phase 1 (`Trainer`), phase 2's heads (`Prober`) and pruning's masked
/// retraining (`PruneExperiment`) supply only their step.
///
/// One epoch over a training set in a seeded order: the batches augmented from the epoch's stream (flip and shift,
/// uncovered pixels filled as the run says) and assembled one ahead on a background thread (`BatchPrefetcher`); a
/// resumed epoch starts at its cursor, the augmentation stream advanced past the images already done, so it ends
/// with the numbers of an uninterrupted one; after every step the NaN guard (a loss that is not finite throws
/// `DivergedError` before the update); progress every 10 batches and after the last; after every batch but the last,
/// the caller's decision to checkpoint there or stop.
public struct EpochPass {
    /// A batch ready for a step: input (size x 3 x 32 x 32), labels (size), valid during the step and the update.
    public struct Batch {
        public let input: UnsafePointer<Float>
        public let labels: UnsafePointer<Int32>
        public let size: Int
        /// 0-based index of the batch in the epoch.
        public let index: Int
    }

    /// A step's result: one training loss per model trained (1 in phase 1 and pruning, 1 per head in phase 2) and
    /// the images of the batch classified correctly (0 where not measured).
    public struct StepResult {
        public var losses: [Float]
        public var correct: Int
        public init(losses: [Float], correct: Int = 0) {
            self.losses = losses
            self.correct = correct
        }
    }

    /// A finished epoch's sums: loss x batch size per model, images right, images done; and when it began (a
    /// resumed epoch's start counts the seconds spent before the interruption).
    public struct Totals {
        public var lossSums: [Double]
        public var correct: Int
        public var images: Int
        public var started: Date
        /// Mean training loss of each model over the epoch.
        public var meanLosses: [Double] { lossSums.map { $0 / Double(max(images, 1)) } }
    }

    /// How a pass ended: every batch done, or stopped at a cursor after the caller saved a checkpoint there.
    public enum Outcome {
        case finished(Totals)
        case stopped(EpochCursor)
    }

    /// What reports progress.
    public let pass: BatchProgress.Pass
    /// 0-based epoch.
    public let epoch: Int
    public let images: LabeledImages
    /// The epoch's order of `images`.
    public let order: [Int]
    public let batchSize: Int
    /// The epoch's augmentation stream, from its start (nil: unaugmented).
    public let augmentation: SeededGenerator?
    public let shiftFill: ShiftFill

    public init(pass: BatchProgress.Pass, epoch: Int, images: LabeledImages, order: [Int], batchSize: Int,
                augmentation: SeededGenerator?, shiftFill: ShiftFill) {
        self.pass = pass
        self.epoch = epoch
        self.images = images
        self.order = order
        self.batchSize = batchSize
        self.augmentation = augmentation
        self.shiftFill = shiftFill
    }

    /// Runs the epoch from `cursor` when it is this epoch's (else from its start) for `models` models. `step` trains
    /// on a batch and returns its losses; a loss that is not finite throws `diverged(model, loss)`'s error (with the
    /// 1-based batch filled in) before `update` runs; `update` then applies the step (phase 1's optimizer step).
    public func run(resuming cursor: EpochCursor?, models: Int, step: (Batch) throws -> StepResult,
                    update: (Batch) -> Void = { _ in },
                    diverged: (_ model: Int, _ loss: Float) -> DivergedError,
                    progress: (BatchProgress) -> Void,
                    afterBatch: (EpochCursor) throws -> BatchDecision) throws -> Outcome {
        let resumed = cursor?.epoch == epoch ? cursor : nil
        var lossSums = resumed?.lossSums ?? [Double](repeating: 0, count: models)
        var correct = resumed?.correct ?? 0, seen = resumed?.imagesDone ?? 0
        var random = augmentation
        BatchAssembler.skip(images: seen, random: &random)
        let start = Date().addingTimeInterval(-(resumed?.seconds ?? 0))
        let batchesPerEpoch = (images.count + batchSize - 1) / batchSize
        let batches = BatchPrefetcher(images: images, order: order, batchSize: batchSize, start: seen, random: random,
                                      shiftFill: shiftFill)
        for index in (seen / batchSize)..<batchesPerEpoch {
            let next = batches.next()!
            let batch = Batch(input: next.input, labels: next.labels, size: next.size, index: index)
            let result = try step(batch)
            if let model = result.losses.firstIndex(where: { !$0.isFinite }) {
                var error = diverged(model, result.losses[model])
                error.batch = index + 1
                throw error
            }
            update(batch)
            for (model, loss) in result.losses.enumerated() { lossSums[model] += Double(loss) * Double(next.size) }
            correct += result.correct
            seen += next.size
            if index % 10 == 9 || index == batchesPerEpoch - 1 {
                progress(BatchProgress(pass: pass, epoch: epoch + 1, imagesDone: seen, imagesTotal: images.count,
                                       elapsed: Date().timeIntervalSince(start), loss: lossSums.last! / Double(seen)))
            }
            if index < batchesPerEpoch - 1 {
                let position = EpochCursor(epoch: epoch, imagesDone: seen, lossSums: lossSums, correct: correct,
                                           seconds: Date().timeIntervalSince(start))
                if try afterBatch(position) == .stop { return .stopped(position) }
            }
        }
        return .finished(Totals(lossSums: lossSums, correct: correct, images: seen, started: start))
    }
}

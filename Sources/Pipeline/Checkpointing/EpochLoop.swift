import RunStore
import Training

/// The checkpointing epoch loop of phases 1 and 2: trains epoch after epoch up to `epochs`, saving a checkpoint
/// every `checkpointMinutes` inside an epoch, after every epoch, and when a stop is requested (then it throws
/// `StoppedAfterSaving`, and `--resume` continues from the checkpoint to the same result, bit for bit).
public struct EpochLoop<Trainer: EpochTraining> {
    /// What trains one epoch at a time (`Trainer`, `Prober`).
    let trainer: Trainer
    /// Epochs to reach.
    let epochs: Int
    /// Minutes between checkpoints inside an epoch (0: only after epochs and on a stop request).
    let checkpointMinutes: Double
    /// Whether the epoch that ends the loop is checkpointed too (phase 1: its checkpoint marks phase 1 complete;
    /// phase 2 writes its result instead).
    let checkpointsFinalEpoch: Bool
    /// Saves the trainer's state, inside an epoch at the cursor or (nil) between epochs.
    let save: (EpochCursor?) throws -> Void
    /// The message of a stop inside an epoch, at the cursor.
    let stoppedInside: (EpochCursor) -> String
    /// The message of a stop after epoch n (1-based).
    let stoppedAfter: (Int) -> String

    public init(trainer: Trainer, epochs: Int, checkpointMinutes: Double, checkpointsFinalEpoch: Bool,
                save: @escaping (EpochCursor?) throws -> Void, stoppedInside: @escaping (EpochCursor) -> String,
                stoppedAfter: @escaping (Int) -> String) {
        self.trainer = trainer
        self.epochs = epochs
        self.checkpointMinutes = checkpointMinutes
        self.checkpointsFinalEpoch = checkpointsFinalEpoch
        self.save = save
        self.stoppedInside = stoppedInside
        self.stoppedAfter = stoppedAfter
    }

    /// Runs the loop; `finished` reports each completed epoch before its checkpoint is saved.
    public func run(_ context: PipelineContext, finished: (Trainer.Epoch) throws -> Void) throws {
        var schedule = CheckpointSchedule(minutes: checkpointMinutes)
        let stops = context.stops
        while trainer.completedEpochs < epochs {
            let result = try stops.stoppingAfterBatch {
                try trainer.trainEpoch(progress: context.observer.batchProgress) { cursor in
                    if stops.isStopRequested {
                        try save(cursor)
                        return .stop
                    }
                    if schedule.isDue() { try save(cursor) }
                    return .proceed
                }
            }
            guard let result else { throw StoppedAfterSaving(description: stoppedInside(trainer.cursor!)) }
            try finished(result)
            if checkpointsFinalEpoch || trainer.completedEpochs < epochs {
                try save(nil)
                schedule.reset()
                try context.stopIfRequested(stoppedAfter(trainer.completedEpochs))
            }
        }
    }
}

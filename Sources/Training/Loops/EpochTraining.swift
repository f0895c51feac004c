import Engine
import Foundation
import RunStore

/// What trains one epoch at a time and can stop inside one: phase 1's `Trainer` and phase 2's `Prober`. The
/// pipeline's one checkpointing epoch loop drives both.
public protocol EpochTraining: AnyObject {
    /// What one epoch reports (`EpochMetrics`; per layer `ProbeEpoch`).
    associatedtype Epoch
    /// Epochs completed.
    var completedEpochs: Int { get }
    /// Where the epoch in progress stopped; nil between epochs.
    var cursor: EpochCursor? { get }
    /// Trains epoch `completedEpochs + 1`, continuing it from `cursor`; after every batch but the last,
    /// `afterBatch` gets the position reached (a checkpoint may save it); `.stop` stops there and returns nil.
    func trainEpoch(progress: (BatchProgress) -> Void, afterBatch: (EpochCursor) throws -> BatchDecision) throws -> Epoch?
}

extension Trainer: EpochTraining {}
extension Prober: EpochTraining {}

extension Trainer {
    /// Saves the trainer's state to `url` (checkpoint.h5), inside an epoch at `cursor` or (nil) between epochs, with
    /// the run's provenance.
    public func saveCheckpoint(cursor: EpochCursor?, provenance: [String: String], to url: URL) throws(RunStoreError) {
        let checkpoint = Checkpoint(configuration: configuration, completedEpochs: completedEpochs, metrics: metrics,
                                    buffers: [:], cursor: cursor, provenance: provenance)
        try CheckpointFile.save(checkpoint, to: url, buffers: stateBuffers.map { (name: $0.name, values: UnsafeBufferPointer($0.buffer.bufferPointer)) })
    }
}

extension Prober {
    /// Saves every probe's weights and velocity and the history to `url` (probe-checkpoint.h5), inside an epoch at
    /// `cursor` or (nil) between epochs.
    public func saveCheckpoint(cursor: EpochCursor?, to url: URL) throws(RunStoreError) {
        try ProbeCheckpointFile.save(progressRecord, cursor: cursor, to: url,
                                     buffers: stateBuffers.map { (name: $0.name, values: UnsafeBufferPointer($0.buffer.bufferPointer)) })
    }
}

import RunStore

/// When a phase is complete, so that `--resume` keeps it.
extension RunDirectory {
    /// Phase 1 is complete: its checkpoint holds at least `epochs` epochs and no position inside one, and run.h5 and
    /// activations.h5 exist.
    func trainingComplete(_ checkpoint: Checkpoint, epochs: Int) -> Bool {
        checkpoint.cursor == nil && checkpoint.completedEpochs >= epochs && exists(RunLayout.runFile)
            && exists(RunLayout.activationsFile)
    }

    /// Phase 2 is complete: no probe-checkpoint.h5 remains, and the run's probes (`probes`: probe.h5, or a version 1
    /// run.h5's `/probe`; nil when it has none) hold a recipe and one probe per convolutional layer (`layers`).
    func probingComplete(_ probes: ProbeSource?, layers: Int) throws(RunStoreError) -> Bool {
        guard let probes, !exists(RunLayout.probeCheckpointFile), probes.recipe() != nil else { return false }
        return try probes.layers().count == layers
    }
}

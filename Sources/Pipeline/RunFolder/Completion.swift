import RunStore

/// When a phase is complete, so that `--resume` keeps it.
extension RunDirectory {
    /// Phase 1 is complete: its checkpoint holds at least `epochs` epochs and no position inside one, and run.h5 and
    /// activations.h5 exist.
    func trainingComplete(_ checkpoint: Checkpoint, epochs: Int) -> Bool {
        checkpoint.cursor == nil && checkpoint.completedEpochs >= epochs && exists(RunLayout.runFile)
            && exists(RunLayout.activationsFile)
    }

    /// Phase 2 is complete: no probe-checkpoint.h5 remains, and run.h5 (`reader`) holds a probe recipe and one probe
    /// (`probeCount`) per convolutional layer (`layers`).
    func probingComplete(_ reader: RunFileReader, probeCount: Int, layers: Int) -> Bool {
        !exists(RunLayout.probeCheckpointFile) && reader.probeRecipe() != nil && probeCount == layers
    }
}

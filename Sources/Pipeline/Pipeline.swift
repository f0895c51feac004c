import Foundation

/// A run, one way: phase 1 (train), phase 2 (probe), phase 3 (analyze), each reading what the one before wrote into
/// the run folder (docs/architecture.md). Every phase removes stale temporaries first, keeps what is complete when
/// resuming, and invalidates what it replaces (`RunDirectory.derived(after:)`).
public enum Pipeline {
    /// Phase 1.
    public static func train(_ request: TrainingRequest, _ context: PipelineContext) throws {
        try TrainPhase.run(request, context)
    }

    /// Phase 2.
    public static func probe(_ request: ProbeRequest, _ context: PipelineContext) throws {
        try ProbePhase.run(request, context)
    }

    /// Phase 3.
    public static func analyze(_ request: AnalysisRequest, _ context: PipelineContext) throws {
        try AnalysisPhase.run(request, context)
    }

    /// Pruning of a dissected run (`PrunePhase`); returns prune.h5's URL.
    @discardableResult
    public static func prune(_ request: PruneRequest, _ context: PipelineContext) throws -> URL {
        try PrunePhase.run(request, context)
    }

    /// The three phases in turn; a stop requested between two ends the run with `StoppedAfterSaving`, whose message
    /// `stopped(phase)` gives for the phase just finished.
    public static func run(train: TrainingRequest, probe: ProbeRequest, analysis: AnalysisRequest, _ context: PipelineContext,
                           stopped: (Phase) -> String) throws {
        try TrainPhase.run(train, context)
        try context.stopIfRequested(stopped(.train))
        try ProbePhase.run(probe, context)
        try context.stopIfRequested(stopped(.probe))
        try AnalysisPhase.run(analysis, context)
    }
}

import Analysis
import Foundation
import Pruning
import Training

/// How a stop request (Ctrl-C, SIGTERM) reaches the pipeline: the command line installs signal handlers behind it,
/// tests inject their own. Phases 1 and 2 poll it after every batch.
public protocol StopRequests: Sendable {
    /// Runs `body` (one epoch) with stop-after-batch enabled: a first request then only sets `isStopRequested`.
    func stoppingAfterBatch<T>(_ body: () throws -> T) rethrows -> T
    /// Whether a stop was requested.
    var isStopRequested: Bool { get }
    /// The sentence telling how to continue after `phase` of the run in `directory` stopped, e.g.
    /// "`filterlens train --resume --out DIR` (with the same flags) continues".
    func resumeHint(phase: Phase, directory: URL) -> String
}

/// Where the pipeline reports: lines of its narrative, progress inside a pass, and phase 3's per-layer table.
public protocol PipelineObserver {
    /// One line of the run's narrative ("run DIR: ...", "epoch 1/3 ...").
    func say(_ line: String)
    /// Progress inside a training, probing or export pass (every few batches).
    func batchProgress(_ progress: BatchProgress)
    /// Progress of phase 3 (every batch of every layer; once per layer taken from the checkpoint).
    func analysisProgress(_ progress: AnalysisProgress)
    /// Phase 3's results, once analysis.h5 and layers.csv are written.
    func analysisFinished(_ results: [RunAnalysis.LayerResult], parameters: AnalysisParameters, seconds: Double,
                          directory: URL)
    /// Progress of pruning: the level, model and retraining epoch, and the time left (every few batches).
    func pruneProgress(_ progress: PruneStudyProgress)
}

extension PipelineObserver {
    /// Observers that do not show pruning's progress ignore it.
    public func pruneProgress(_ progress: PruneStudyProgress) {}
}

/// Faults that tests inject to stand for a crash at a chosen point (the command line injects none).
public protocol FaultInjection: Sendable {
    /// Called before each phase 3 progress report; throwing ends the analysis there, after the checkpoint of the
    /// layers before `progress.layer` is written, as a crash would.
    func analysing(_ progress: AnalysisProgress) throws
}

/// No faults.
public struct NoFaults: FaultInjection {
    public init() {}
    public func analysing(_ progress: AnalysisProgress) {}
}

/// No stop requests ever arrive (in-process use and tests).
public struct NoStopRequests: StopRequests {
    public init() {}
    public func stoppingAfterBatch<T>(_ body: () throws -> T) rethrows -> T { try body() }
    public var isStopRequested: Bool { false }
    public func resumeHint(phase: Phase, directory: URL) -> String { "resume \(phase) in \(directory.path)" }
}

/// What the pipeline runs with besides its configuration: stop requests, an observer and injected faults.
public struct PipelineContext {
    public var stops: any StopRequests
    public var observer: any PipelineObserver
    public var faults: any FaultInjection

    public init(stops: any StopRequests = NoStopRequests(), observer: any PipelineObserver,
                faults: any FaultInjection = NoFaults()) {
        self.stops = stops
        self.observer = observer
        self.faults = faults
    }

    func say(_ line: String) { observer.say(line) }

    /// Ends the run with `StoppedAfterSaving(message)` if a stop was requested (one that arrived after the last batch
    /// of an epoch or phase, when no loop polls any more).
    func stopIfRequested(_ message: @autoclosure () -> String) throws(StoppedAfterSaving) {
        if stops.isStopRequested { throw StoppedAfterSaving(description: message()) }
    }
}

import Analysis
import Foundation
import RunStore

/// Phase 3's configuration.
public struct AnalysisRequest: Sendable {
    /// The run folder (phase 2 complete, or a run dissected elsewhere: run.h5, probe.h5 and fields.h5).
    public var directory: RunDirectory
    /// Threshold and normalization of the filter-label matrices.
    public var parameters: AnalysisParameters
    /// Further thresholds whose per-layer table is stored beside the main one.
    public var sweepThresholds: [Double]
    /// Take the layers an interrupted analysis finished from analysis-checkpoint.h5.
    public var resume: Bool
    /// With `resume`, keep an existing analysis.h5 made with these parameters (as `run --resume` does); one made
    /// with others is redone from scratch.
    public var keepsMatchingAnalysis: Bool
    /// The layers to analyse; nil: every layer with a probe.
    public var layers: [Int]?
    /// Test images kept per filter: those with the largest spatially averaged block output (analysis.h5's
    /// `top_images`).
    public var topImages: Int

    public init(directory: RunDirectory, parameters: AnalysisParameters, sweepThresholds: [Double], resume: Bool,
                keepsMatchingAnalysis: Bool = false, topImages: Int = TopImageRecord.defaultCount) {
        self.topImages = topImages
        self.directory = directory
        self.parameters = parameters
        self.sweepThresholds = sweepThresholds
        self.resume = resume
        self.keepsMatchingAnalysis = keepsMatchingAnalysis
    }
}

/// Phase 3: reads run.h5, the probes (probe.h5, or a version 1 run.h5's /probe) and activations.h5 or fields.h5
/// (and analysis-checkpoint.h5 when resuming); writes analysis-checkpoint.h5 after every layer, then analysis.h5 and
/// layers.csv.
enum AnalysisPhase {
    static func run(_ request: AnalysisRequest, _ context: PipelineContext) throws {
        let directory = request.directory
        if request.resume && request.keepsMatchingAnalysis && directory.exists(RunLayout.analysisFile) {
            guard let departure = RunAnalysis.departure(ofAnalysisIn: directory.url, from: request.parameters,
                                                        sweepThresholds: request.sweepThresholds,
                                                        topImages: request.topImages) else {
                return context.say("phase 3 of \(directory.path) is complete; nothing to resume")
            }
            context.say("phase 3 of \(directory.path) is complete but \(RunLayout.analysisFile) departs from the flags given: \(departure); analysing again")
            var again = request
            again.resume = false
            again.keepsMatchingAnalysis = false
            return try run(again, context)
        }
        directory.removeStaleTemporaries()
        let started = Date()
        // A fault the tests inject ends the analysis where it throws; the analysis only sees a RunStoreError, so the
        // fault itself is kept here and thrown in its place.
        var fault: (any Error)?
        let results: [RunAnalysis.LayerResult]
        do {
            results = try RunAnalysis.run(directory: directory.url, parameters: request.parameters,
                                          sweepThresholds: request.sweepThresholds, resume: request.resume,
                                          topImages: request.topImages, layers: request.layers) { progress throws(RunStoreError) in
                do {
                    try context.faults.analysing(progress)
                } catch {
                    fault = error
                    throw RunStoreError(path: directory.path, problem: "injected fault", fix: "none")
                }
                context.observer.analysisProgress(progress)
            }
        } catch {
            throw fault ?? error
        }
        context.observer.analysisFinished(results, parameters: request.parameters, seconds: Date().timeIntervalSince(started),
                                          directory: directory.url)
    }
}

import Analysis
import Foundation
import Pipeline
import RunStore
import Training

/// The pipeline's observer on the terminal: narrative lines on standard output, progress on standard error, and
/// phase 3's per-layer table.
final class Console: PipelineObserver {
    private let progress = ProgressPrinter()
    private var lastAnalysisPrint = Date.distantPast

    func say(_ line: String) { printLine(line) }

    func batchProgress(_ progress: BatchProgress) { self.progress.show(progress) }

    func analysisProgress(_ progress: AnalysisProgress) {
        if progress.fromCheckpoint {
            printLine("  analyze layer \(progress.layer)/\(progress.layerCount): taken from \(RunLayout.analysisCheckpointFile)")
            return
        }
        guard progress.imagesDone == progress.imagesTotal || Date().timeIntervalSince(lastAnalysisPrint) > 10 else { return }
        lastAnalysisPrint = Date()
        FileHandle.standardError.write(Data(String(format: "  analyze layer %d/%d  %d/%d images  %.1fs\n", progress.layer,
                                                   progress.layerCount, progress.imagesDone, progress.imagesTotal,
                                                   progress.elapsed).utf8))
    }

    func analysisFinished(_ results: [RunAnalysis.LayerResult], parameters: AnalysisParameters, seconds: Double, directory: URL) {
        printLine(String(format: "phase 3 (threshold %.2f, %@ normalization) in %.1fs:", parameters.threshold,
                         parameters.normalization.rawValue, seconds))
        printLine("layer  SR(l)   clusters/filter  cluster size  signal  noise   SNR    silent  no-cluster")
        for result in results {
            let s = result.summary
            printLine(String(format: "%5d  %.4f  %15.2f  %12.2f  %6.2f  %5.2f  %5.2f  %6.2f  %10.2f", result.layer, result.probeSR,
                             s.meanClustersPerFilter, s.meanClusterSize, s.meanSignal, s.meanNoise, s.snr, s.silentFraction,
                             s.noClusterFraction))
        }
        printLine("wrote \(directory.appendingPathComponent(RunLayout.analysisFile).path) and layers.csv")
    }
}

extension PipelineContext {
    /// The command line's context: Ctrl-C and SIGTERM stop after the batch, the terminal observes, no faults.
    static func console() -> PipelineContext {
        PipelineContext(stops: SignalStops(), observer: Console())
    }
}

/// Prints a line to standard output and flushes it (so logs show it at once).
func say(_ line: String) { printLine(line) }

private func printLine(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

import BLAS
import Analysis
import Foundation
import Pipeline
import Pruning
import RunStore
import Training

/// The pipeline's observer on the terminal: narrative lines on standard output, progress on standard error, and
/// phase 3's per-layer table.
final class Console: PipelineObserver {
    private let progress = ProgressPrinter()
    private var lastAnalysisPrint = Date.distantPast

    func say(_ line: String) { printLine(line) }

    func batchProgress(_ progress: BatchProgress) { self.progress.show(progress) }

    func pruneProgress(_ progress: PruneStudyProgress) { self.progress.show(progress) }

    func analysisProgress(_ progress: AnalysisProgress) {
        if progress.fromCheckpoint {
            printLine("  analyze layer \(progress.layer)/\(progress.layerCount): taken from \(RunLayout.analysisCheckpointFile)")
            return
        }
        let layerDone = progress.filterCount > 0 && progress.filtersDone == progress.filterCount
        guard layerDone || Date().timeIntervalSince(lastAnalysisPrint) > 10 else { return }
        lastAnalysisPrint = Date()
        var line = String(format: "  analyze layer %d (%d layers)", progress.layer, progress.layerCount)
        if progress.imagesDone < progress.imagesTotal {
            line += String(format: "  %d/%d images", progress.imagesDone, progress.imagesTotal)
        } else {
            line += String(format: "  %d/%d filters", progress.filtersDone, progress.filterCount)
        }
        if progress.allFiltersDone > 0 && progress.elapsed > 0 {
            let rate = Double(progress.allFiltersDone) / progress.elapsed
            line += String(format: "  %.1f filters/s  ETA %@", rate,
                           ProgressPrinter.duration(Double(progress.allFilters - progress.allFiltersDone) / rate))
        }
        line += String(format: "  %.1fs\n", progress.elapsed)
        FileHandle.standardError.write(Data(line.utf8))
    }

    func analysisFinished(_ results: [RunAnalysis.LayerResult], parameters: AnalysisParameters, seconds: Double, directory: URL) {
        printLine(String(format: "phase 3 (threshold %.2f, %@ normalization) in %.1fs:", parameters.threshold,
                         parameters.normalization.rawValue, seconds))
        let shown = [LayerColumns.clustersPerFilter, LayerColumns.meanClusterSize, LayerColumns.meanSignal, LayerColumns.meanNoise,
                     LayerColumns.snr, LayerColumns.silentFraction, LayerColumns.noClusterFraction]
        printLine((["layer", LayerColumns.probeFinalSR.title.padding(toLength: 6, withPad: " ", startingAt: 0)] + shown.map(\.title)).joined(separator: "  "))
        for result in results {
            let cells = [String(format: "%5d", result.layer), String(format: "%.4f", result.probeSR)]
                + shown.map { String(format: "%\($0.title.count).2f", result.summary.value($0)) }
            printLine(cells.joined(separator: "  "))
        }
        printLine("wrote \(directory.appendingPathComponent(RunLayout.analysisFile).path) and layers.csv")
    }
}

extension PipelineContext {
    /// The command line's context: Ctrl-C and SIGTERM stop after the batch, the terminal observes, no faults.
    static func console() -> PipelineContext {
        warnOfForcedOpenBLASCore()
        return PipelineContext(stops: SignalStops(), observer: Console())
    }
}

/// Prints `BLAS.forcedCoreWarning` on standard error when `OPENBLAS_CORETYPE` slows this machine's matrix products:
/// once per process, however many pipelines it runs (`sweep-labels` runs one per label count).
func warnOfForcedOpenBLASCore() { _ = forcedCoreWarningPrinted }

private let forcedCoreWarningPrinted: Bool = {
    guard let warning = BLAS.forcedCoreWarningForThisProcess else { return false }
    FileHandle.standardError.write(Data((warning + "\n").utf8))
    return true
}()

/// Prints a line to standard output and flushes it (so logs show it at once).
func say(_ line: String) { printLine(line) }

private func printLine(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

import Foundation
import Pipeline
import Pruning
import Training

/// Prints progress of long work to standard error: rate, ETA and running loss, at most every `interval` seconds
/// (rewriting one line on a terminal, one line per update in a log).
final class ProgressPrinter {
    private var lastPrint = Date.distantPast
    private let interval: Double
    private let terminal = isatty(STDERR_FILENO) != 0

    init(interval: Double? = nil) {
        self.interval = interval ?? (isatty(STDERR_FILENO) != 0 ? 0.5 : 10)
    }

    /// Shows `progress` if enough time passed since the last line, or when the pass is complete.
    func show(_ progress: BatchProgress) {
        let done = progress.imagesDone >= progress.imagesTotal
        guard done || Date().timeIntervalSince(lastPrint) >= interval else { return }
        lastPrint = Date()
        let percent = 100 * Double(progress.imagesDone) / Double(max(progress.imagesTotal, 1))
        var line = String(format: "  %@ epoch %d  %5.1f%%  %6.0f img/s  ETA %@", progress.pass.rawValue, progress.epoch, percent,
                          progress.imagesPerSecond, Self.duration(progress.secondsLeft))
        if progress.loss.isFinite { line += String(format: "  loss %.4f", progress.loss) }
        if terminal {
            FileHandle.standardError.write(Data(("\r" + line + (done ? "\n" : "")).utf8))
        } else {
            FileHandle.standardError.write(Data((line + "\n").utf8))
        }
    }

    /// Shows pruning's `progress` (level, model, retraining epoch, rate, the model's ETA and that of all the models
    /// left) if enough time passed since the last line, or at an epoch's end.
    func show(_ progress: PruneStudyProgress) {
        guard let retrain = progress.retrain else { return }
        let done = retrain.imagesDone >= retrain.imagesTotal
        guard done || Date().timeIntervalSince(lastPrint) >= interval else { return }
        lastPrint = Date()
        let percent = 100 * Double(retrain.imagesDone) / Double(max(retrain.imagesTotal, 1))
        let line = String(format: "  level %d/%d model %d/%d %@ epoch %d/%d  %5.1f%%  %6.0f img/s  loss %.4f  ETA %@ (model), %@ (all)",
                          progress.level, progress.levelCount, progress.model, progress.modelCount, progress.name,
                          retrain.epoch, retrain.epochs, percent, retrain.imagesPerSecond, retrain.loss,
                          Self.duration(retrain.secondsLeft), Self.duration(progress.secondsLeft))
        FileHandle.standardError.write(Data(((terminal ? "\r" : "") + line + (terminal && !done ? "" : "\n")).utf8))
    }

    /// "1h02m", "3m05s", "12s" or "--".
    static func duration(_ seconds: Double) -> String { Elapsed.text(seconds) }
}

import Engine
import Foundation
import RunStore
import Tensor

/// Where a run stands, read from its folder's files without writing anything (`filterlens status`): for each phase
/// and the report its state and the numbers behind it, and the command that continues the run.
public struct RunStatus: Sendable {
    /// A phase's state.
    public enum State: String, Sendable {
        case notStarted = "not started"
        case inProgress = "in progress"
        case complete
        /// Complete, but older than a file it was made from (`RunDirectory.staleInputs`).
        case stale
        /// An optional step (pruning) nobody asked for.
        case notRun = "not run (optional)"
    }

    /// One phase, or the report, and what its files say.
    public struct Entry: Sendable {
        /// "phase 1 train", "phase 2 probe", "phase 3 analyze", "report" or "prune".
        public var name: String
        public var state: State
        /// The numbers behind the state, a line each.
        public var details: [String]
    }

    /// The run folder.
    public var path: String
    /// What was run: preset, architecture, phase 1 recipe and data.
    public var summary: String
    /// Phases 1-3, the report and pruning, in order.
    public var entries: [Entry]
    /// The command that continues the run; nil when every phase and the report are done.
    public var next: String?
    /// The command writing the run now ("filterlens run (pid 1234) since ..."), from its lock; nil when none is.
    public var workingCommand: String?

    /// The status as `filterlens status` prints it.
    public var text: String {
        var lines = ["\(path): \(summary)"]
        if let workingCommand { lines.append("at work now: \(workingCommand)") }
        for entry in entries {
            lines.append(entry.name.padding(toLength: 16, withPad: " ", startingAt: 0) + entry.state.rawValue)
            lines += entry.details.map { String(repeating: " ", count: 18) + $0 }
        }
        let nextLine = next.map { workingCommand == nil ? "next: \($0)" : "next, should it stop: \($0)" }
        lines.append(nextLine ?? "every phase and the report are done")
        return lines.joined(separator: "\n")
    }

    /// Reads the status of the run in `directory`; `now` dates the checkpoints' age. A folder with neither run.h5 nor
    /// checkpoint.h5 is an error naming it; a damaged file is the file's own error.
    public static func read(_ directory: RunDirectory, now: Date = Date()) throws -> RunStatus {
        let hasRun = directory.exists(RunLayout.runFile), hasCheckpoint = directory.exists(RunLayout.checkpointFile)
        let workingCommand = RunLock.holder(of: directory)
        if !(hasRun || hasCheckpoint), let workingCommand {
            throw PipelineError.nothingSavedYet(directory: directory.path, writer: workingCommand)
        }
        guard hasRun || hasCheckpoint else {
            throw PipelineError.notARun(directory: directory.path)
        }
        let run = hasRun ? try RunFileReader(directory.file(RunLayout.runFile)) : nil
        let checkpoint = hasCheckpoint
            ? try CheckpointFile.load(from: directory.file(RunLayout.checkpointFile), readingBuffers: false) : nil
        // A run.h5 of another tool (the filterlens-torch package) has no configuration: its probes give the layers.
        let configuration = try checkpoint?.configuration ?? run?.configuration()
        let probes = try run.flatMap { run throws in try ProbeSource.find(for: run) }
        let layers = try configuration.map { configuration throws in
            try Architecture(notation: configuration.notation, hiddenWidths: configuration.head,
                             labelCount: configuration.labelCount).convolutionCount
        } ?? probes?.layers().count ?? 0
        let labelCount = try configuration?.labelCount ?? run?.labelNames().count ?? 0
        let training = try trainingEntry(directory, configuration: configuration, checkpoint: checkpoint, run: run, now: now)
        let probing = try probingEntry(directory, probes: training.state == .complete ? probes : nil, layers: layers,
                                       labelCount: labelCount, trainImages: configuration?.trainImages,
                                       trained: training.state == .complete, now: now)
        let analysis = try analysisEntry(directory, layers: layers, probed: probing.state == .complete)
        let report = reportEntry(directory)
        let pruning = try pruneEntry(directory)
        var entries = [training, probing, analysis, report, pruning]
        // A command at work whose phase has saved nothing yet: the first phase not started after complete ones is its.
        if workingCommand != nil, !entries.contains(where: { $0.state == .inProgress }),
           let first = entries.firstIndex(where: { $0.state == .notStarted }) {
            entries[first].state = .inProgress
            entries[first].details.insert("at work, nothing saved yet (a phase saves after its first epoch or layer)", at: 0)
        }
        let summary = configuration.map { configuration in
            "\(configuration.preset) [\(configuration.notation)], \(configuration.recipeDescription); \(configuration.dataset), "
                + "\(configuration.trainImages) training / \(configuration.testImages) test images, seed \(configuration.seed)"
        } ?? "run.h5 without a training configuration (written by another tool, e.g. the filterlens-torch package); data: "
            + (run?.datasetName() ?? "unknown")
        let next: String?
        if entries.allSatisfy({ $0.state == .complete || $0.state == .notRun }) {
            next = nil
        } else if pruning.state == .inProgress {
            next = "filterlens prune \(directory.path) --resume (with the flags it was started with)"
        } else if analysis.state == .complete && pruning.state == .stale && report.state != .stale {
            next = "filterlens prune \(directory.path) (with the flags it was made with)"
        } else if analysis.state == .complete {
            next = "filterlens report \(directory.path)"
        } else if configuration != nil {
            next = "filterlens run --resume --out \(directory.path)"
        } else if probing.state == .complete {
            next = "filterlens analyze \(directory.path) && filterlens report \(directory.path)"
        } else {
            next = "write probe.h5 with the filterlens-torch package (python/README.md), then filterlens analyze \(directory.path)"
        }
        return RunStatus(path: directory.path, summary: summary, entries: entries, next: next,
                         workingCommand: workingCommand)
    }

    // MARK: - Phases

    private static func trainingEntry(_ directory: RunDirectory, configuration: RunConfiguration?, checkpoint: Checkpoint?,
                                      run: RunFileReader?, now: Date) throws -> Entry {
        let name = "phase 1 train"
        let metrics = try checkpoint?.metrics ?? run?.metrics() ?? []
        var details = curve(metrics)
        // The checkpoint carries the configuration; a run.h5 without one was written whole (by filterlens-torch, or its
        // checkpoint was removed).
        guard let checkpoint, let configuration else {
            details.insert(metrics.isEmpty ? "run.h5 holds no phase 1 metrics" : epochs(metrics.count), at: 0)
            return Entry(name: name, state: .complete, details: details)
        }
        if directory.trainingComplete(checkpoint, epochs: configuration.epochs) {
            details.insert(epochs(metrics.count), at: 0)
            return Entry(name: name, state: .complete, details: details)
        }
        let done = checkpoint.completedEpochs
        details.insert("\(done) of \(configuration.epochs) epochs done", at: 0)
        if done < configuration.epochs {
            var pace = [timeLeft(epochSeconds: metrics.map(\.seconds), epochsLeft: configuration.epochs - done,
                                 secondsInside: checkpoint.cursor?.seconds ?? 0, phase: 1) ?? "no epoch finished yet"]
            if let cursor = checkpoint.cursor {
                pace.append(inside(cursor, epoch: done + 1, trainImages: configuration.trainImages))
            }
            details.append(pace.joined(separator: "; "))
        } else {
            details.append("every epoch trained; \(RunLayout.runFile) and \(RunLayout.activationsFile) not written yet")
        }
        details.append(age(of: directory.file(RunLayout.checkpointFile), "checkpoint", now: now))
        return Entry(name: name, state: .inProgress, details: details)
    }

    private static func probingEntry(_ directory: RunDirectory, probes: ProbeSource?, layers: Int, labelCount: Int,
                                     trainImages: Int?, trained: Bool, now: Date) throws -> Entry {
        let name = "phase 2 probe"
        if let probes, try directory.probingComplete(probes, layers: layers) {
            let heads = try probes.layers().map { layer in
                try probes.probe(layer: layer, labelCount: labelCount, readingWeight: false)
            }
            var details = ["\(heads.count) probes, \(epochs(probes.recipe()?.epochs ?? heads.first?.epochs.count ?? 0)) each; "
                + "SR(l) " + srRange(heads.map { ($0.layer, $0.epochs.last?.testSR ?? .nan) })]
            let flagged = heads.filter { $0.lossFlag != "ok" }.map { "layer \($0.layer) \"\($0.lossFlag)\"" }
            details.append(flagged.isEmpty ? "every probe's loss settled (flag \"ok\")" : "flagged: " + flagged.joined(separator: ", "))
            return Entry(name: name, state: .complete, details: details)
        }
        let checkpointURL = directory.file(RunLayout.probeCheckpointFile)
        guard trained, directory.exists(RunLayout.probeCheckpointFile) else {
            return Entry(name: name, state: .notStarted, details: [])
        }
        let checkpoint = try ProbeCheckpointFile.load(from: checkpointURL, readingBuffers: false)
        let history = checkpoint.progress.history
        let done = history.map(\.count).min() ?? 0
        var details = ["\(done) of \(checkpoint.progress.recipe.epochs) epochs done (\(history.count) probes)"]
        if done > 0 {
            details.append("SR(l) after epoch \(done): "
                + srRange(history.enumerated().map { ($0.offset + 1, $0.element[done - 1].testSR) }))
        }
        var pace: [String] = []
        if let left = timeLeft(epochSeconds: checkpoint.progress.epochSeconds ?? [], epochsLeft: checkpoint.progress.recipe.epochs - done,
                               secondsInside: checkpoint.cursor?.seconds ?? 0, phase: 2) {
            pace.append(left)
        }
        if let cursor = checkpoint.cursor, let trainImages { pace.append(inside(cursor, epoch: done + 1, trainImages: trainImages)) }
        if !pace.isEmpty { details.append(pace.joined(separator: "; ")) }
        details.append(age(of: checkpointURL, "checkpoint", now: now))
        return Entry(name: name, state: .inProgress, details: details)
    }

    private static func analysisEntry(_ directory: RunDirectory, layers: Int, probed: Bool) throws -> Entry {
        let name = "phase 3 analyze"
        if directory.exists(RunLayout.analysisFile) {
            let analysis = try AnalysisFileReader(directory.file(RunLayout.analysisFile))
            let threshold = analysis.number("threshold").map { String(format: "%g", $0) } ?? "?"
            return Entry(name: name, state: .complete,
                         details: ["\(try analysis.layers().count) layers at threshold \(threshold), "
                                   + "\(analysis.string("normalization") ?? "?") normalization"])
        }
        guard probed else { return Entry(name: name, state: .notStarted, details: []) }
        var details: [String] = []
        if directory.exists(RunLayout.analysisCheckpointFile) {
            let done = try AnalysisCheckpointFile.load(from: directory.file(RunLayout.analysisCheckpointFile)).layers.count
            details.append("\(done) of \(layers) layers done")
        }
        if !directory.exists(RunLayout.activationsFile) && !directory.exists(RunLayout.fieldsFile) {
            details.append("needs \(RunLayout.activationsFile) or \(RunLayout.fieldsFile), and the folder has neither")
        }
        return Entry(name: name, state: details.isEmpty ? .notStarted : .inProgress, details: details)
    }

    private static func reportEntry(_ directory: RunDirectory) -> Entry {
        let report = directory.file(RunLayout.reportFile)
        guard directory.exists(RunLayout.reportFile) else { return Entry(name: "report", state: .notStarted, details: []) }
        let newer = directory.staleInputs(of: .report)
        guard newer.isEmpty else {
            return Entry(name: "report", state: .stale,
                         details: [report.path, "older than \(newer.joined(separator: ", ")), written after it: it does not show them"])
        }
        return Entry(name: "report", state: .complete, details: [report.path])
    }

    private static func pruneEntry(_ directory: RunDirectory) throws -> Entry {
        let name = "prune"
        if directory.exists(RunLayout.pruneFile) {
            let summary = try PruneFileReader.read(directory.file(RunLayout.pruneFile))
            var details = summary.levels.map { level -> String in
                let layers = "layers " + level.layers.map(String.init).joined(separator: ",")
                let controls = level.controlRows.map { level.srAfter[$0] }
                guard let afcc = level.models.indices.first(where: { level.controlSeeds[$0] < 0 }) else {
                    return "\(layers): \(level.models.count) models"
                }
                var line = String(format: "%@: AFCC SR %.4f -> %.4f after retraining, %.1f%% of the weights considered pruned",
                                  layers, level.srBefore[afcc], level.srAfter[afcc], 100 * (1 - level.keptFraction[afcc]))
                if !controls.isEmpty {
                    line += String(format: "; random control %.4f (mean of %d)", controls.reduce(0, +) / Double(controls.count), controls.count)
                }
                return line
            }
            let newer = directory.staleInputs(of: .prune)
            if !newer.isEmpty {
                details.append("older than \(newer.joined(separator: ", ")), written after it: made from an earlier run")
                return Entry(name: name, state: .stale, details: details)
            }
            return Entry(name: name, state: .complete, details: details)
        }
        if directory.exists(RunLayout.pruneCheckpointFile) {
            let saved = try PruneCheckpointFile.load(from: directory.file(RunLayout.pruneCheckpointFile))
            var detail = "\(saved.models.count) models retrained and saved in \(RunLayout.pruneCheckpointFile)"
            if let position = saved.inProgress?.position {
                detail += "; \(position.name) of level \(position.level + 1) saved inside its retraining, epoch \(position.cursor.epoch + 1), image \(position.cursor.imagesDone)"
            }
            return Entry(name: name, state: .inProgress, details: [detail])
        }
        return Entry(name: name, state: .notRun, details: [])
    }

    // MARK: - Numbers

    /// The test SR curve of phase 1: the last and the best epoch, the train SR, and the least-squares slope of the
    /// last 5 epochs (of 3 or more) in SR per epoch.
    private static func curve(_ metrics: [EpochMetrics]) -> [String] {
        guard let last = metrics.last, let best = metrics.max(by: { $0.testSR < $1.testSR }) else { return [] }
        var line = String(format: "test SR %.4f after epoch %d (best %.4f, epoch %d)", last.testSR, last.epoch, best.testSR, best.epoch)
        if last.trainSR.isFinite { line += String(format: "; train SR %.4f", last.trainSR) }
        let tail = metrics.suffix(5).map(\.testSR)
        if tail.count >= 3 {
            line += String(format: "; slope of the last %d epochs %+.4f per epoch", tail.count, slope(tail))
        }
        return [line]
    }

    /// "epochs take 300 s (median): about 25m00s left in phase 1": `epochsLeft` epochs at the median of `epochSeconds`,
    /// less the `secondsInside` already spent on the epoch in progress; nil before the first epoch is timed.
    private static func timeLeft(epochSeconds: [Double], epochsLeft: Int, secondsInside: Double, phase: Int) -> String? {
        guard !epochSeconds.isEmpty else { return nil }
        let median = Statistics.median(epochSeconds)
        let left = Double(epochsLeft) * median - secondsInside
        return String(format: "epochs take %.0f s (median): about %@ left in phase %d", median, Elapsed.text(left), phase)
    }

    /// "epoch 5 40% done": how far into `epoch` (1-based) a checkpoint's cursor stopped, of `trainImages`.
    private static func inside(_ cursor: EpochCursor, epoch: Int, trainImages: Int) -> String {
        String(format: "epoch %d %.0f%% done", epoch, 100 * Double(cursor.imagesDone) / Double(max(trainImages, 1)))
    }

    /// "1 epoch", "30 epochs".
    private static func epochs(_ count: Int) -> String { count == 1 ? "1 epoch" : "\(count) epochs" }

    /// Least-squares slope of `values` against 0, 1, 2, ... (per step; 0 for fewer than 2 values).
    public static func slope(_ values: [Double]) -> Double {
        let count = Double(values.count), meanX = (count - 1) / 2, meanY = values.reduce(0, +) / count
        let covariance = values.enumerated().reduce(0) { $0 + (Double($1.offset) - meanX) * ($1.element - meanY) }
        let variance = (0..<values.count).reduce(0) { $0 + (Double($1) - meanX) * (Double($1) - meanX) }
        return variance > 0 ? covariance / variance : 0
    }

    /// "layer 1 0.5176 ... layer 13 0.8896" (every layer where there are 4 or fewer).
    private static func srRange(_ values: [(layer: Int, sr: Double)]) -> String {
        let shown = values.count <= 4 ? values : [values.first!, values.last!]
        return shown.map { String(format: "layer %d %.4f", $0.layer, $0.sr) }.joined(separator: values.count <= 4 ? ", " : " ... ")
    }

    private static func modified(_ url: URL) -> Date {
        ((try? FileManager.default.attributesOfItem(atPath: url.path))?[.modificationDate] as? Date) ?? .distantPast
    }

    /// "checkpoint written 2026-12-06 22:31 UTC, 3m05s ago".
    private static func age(of url: URL, _ what: String, now: Date) -> String {
        let written = modified(url)
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd HH:mm 'UTC'"
        return "\(what) written \(formatter.string(from: written)), \(Elapsed.text(now.timeIntervalSince(written))) ago"
    }
}

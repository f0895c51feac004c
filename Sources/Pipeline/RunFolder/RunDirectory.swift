import Files
import Foundation
import RunStore

/// A run's folder and the rules of what in it is complete, stale or derived (docs/architecture.md).
public struct RunDirectory: Sendable {
    /// The folder.
    public let url: URL

    public init(_ url: URL) { self.url = url }

    /// outputs/<preset>-seed<seed> under `outputs`.
    public static func defaultPath(outputs: String, preset: String, seed: UInt64) -> String {
        "\(outputs)/\(preset)-seed\(seed)"
    }

    /// The file `name` of the run (`RunLayout`'s names).
    public func file(_ name: String) -> URL { url.appendingPathComponent(name) }

    /// The folder's path.
    public var path: String { url.path }

    func exists(_ name: String) -> Bool { FileManager.default.fileExists(atPath: file(name).path) }

    /// Every file a phase writes, with the checkpoints: what `--force` removes before a new run.
    static let phaseFiles = [RunLayout.runFile, RunLayout.activationsFile, RunLayout.probeFile, RunLayout.analysisFile,
                             RunLayout.checkpointFile, RunLayout.probeCheckpointFile, RunLayout.analysisCheckpointFile,
                             "layers.csv", RunLayout.pruneFile, RunLayout.pruneCheckpointFile]

    /// Makes the folder ready for a new run: refuses an existing run unless `force`, which removes its files.
    public func prepareNew(force: Bool) throws(PipelineError) {
        if (exists(RunLayout.runFile) || exists(RunLayout.checkpointFile)) && !force {
            throw PipelineError.runExists(directory: path)
        }
        try create()
        if force {
            for name in Self.phaseFiles { try? FileManager.default.removeItem(at: file(name)) }
        }
    }

    /// Creates the folder (and its parents) if missing, or throws one line naming it.
    func create() throws(PipelineError) {
        do {
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        } catch {
            throw PipelineError.cannotCreate(directory: path, reason: error.localizedDescription)
        }
    }

    /// The files computed from what `phase` has just replaced (run.h5 for phase 1, probe.h5 for phase 2): phase 1
    /// invalidates phase 2's probe.h5 and checkpoint and what phase 3 and `prune` made of the run, phase 2 invalidates
    /// phase 3's and prune's.
    public static func derived(after phase: Phase) -> [String] {
        var names = [RunLayout.analysisFile, RunLayout.analysisCheckpointFile, "layers.csv", RunLayout.pruneFile,
                     RunLayout.pruneCheckpointFile]
        if phase == .train { names += [RunLayout.probeFile, RunLayout.probeCheckpointFile] }
        return names
    }

    /// What the report and pruning are made from: the files that, written after them, leave them stale.
    public enum DerivedStep: Sendable {
        /// report.html and figures/: from run.h5, probe.h5, analysis.h5 and prune.h5.
        case report
        /// prune.h5: from run.h5, probe.h5 and analysis.h5.
        case prune

        /// The step's output and the files it reads.
        var files: (output: String, inputs: [String]) {
            switch self {
            case .report: (RunLayout.reportFile, [RunLayout.runFile, RunLayout.probeFile, RunLayout.analysisFile, RunLayout.pruneFile])
            case .prune: (RunLayout.pruneFile, [RunLayout.runFile, RunLayout.probeFile, RunLayout.analysisFile])
            }
        }
    }

    /// The inputs of `step` modified after its output was written (empty when it is current, or has no output yet).
    public func staleInputs(of step: DerivedStep) -> [String] {
        let (output, inputs) = step.files
        guard let written = modified(output) else { return [] }
        return inputs.filter { (modified($0) ?? .distantPast) > written }
    }

    private func modified(_ name: String) -> Date? {
        (try? FileManager.default.attributesOfItem(atPath: file(name).path))?[.modificationDate] as? Date
    }

    /// Removes the files `derived(after: phase)` names, saying so for each.
    func removeDerived(after phase: Phase, _ context: PipelineContext) {
        for name in Self.derived(after: phase) where exists(name) {
            try? FileManager.default.removeItem(at: file(name))
            context.say("removed \(file(name).path): computed from the run before \(phase) replaced it")
        }
    }

    /// Removes the temporary files that killed processes left in the run and its figures folder.
    public func removeStaleTemporaries() {
        TemporaryFile.removeStale(in: url)
        TemporaryFile.removeStale(in: url.appendingPathComponent("figures"))
    }
}

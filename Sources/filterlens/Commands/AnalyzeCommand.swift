import Analysis
import ArgumentParser
import Foundation
import RunStore

/// Options of phase 3 (shared by `analyze` and `run`).
struct AnalysisOptions: ParsableArguments {
    @Option(help: "Threshold th of the binary matrix: an element is bright when the normalized value exceeds it.")
    var threshold = 0.3

    @Option(help: "Normalization of the filter-label matrix: max ([L]) or column-centred (subtract column means first).")
    var normalization = "max"

    @Option(help: "Further thresholds, comma-separated, whose per-layer table is stored beside the main one.")
    var sweep = "0.2,0.3,0.5,0.7"

    func validate() throws {
        guard threshold > 0 && threshold < 1 else { throw ValidationError("--threshold must lie in (0, 1), got \(threshold)") }
        guard Normalization(rawValue: normalization) != nil else {
            throw ValidationError("--normalization must be one of \(Normalization.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        _ = try sweepThresholds()
    }

    func sweepThresholds() throws -> [Double] {
        try sweep.split(separator: ",").map {
            guard let value = Double($0.trimmingCharacters(in: .whitespaces)), value > 0, value < 1 else {
                throw ValidationError("--sweep: \"\($0)\" is not a threshold in (0, 1)")
            }
            return value
        }
    }

    var parameters: AnalysisParameters {
        AnalysisParameters(threshold: threshold, normalization: Normalization(rawValue: normalization)!)
    }
}

/// `filterlens analyze`: phase 3.
struct AnalyzeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "analyze",
        abstract: "Phase 3: filter-label matrices, clusters, signal, noise and SNR per layer; writes analysis.h5 and layers.csv.",
        discussion: "Reads only the HDF5 files of the run (run.h5 with phase 2 heads, and activations.h5 or, when there is none, fields.h5: the per-label field sums that filterlens-torch's dissect writes), so it also works on files other tools wrote in the documented layout (docs/hdf5-layout.md).")

    @Argument(help: "Run directory.")
    var runDirectory: String

    @OptionGroup var analysis: AnalysisOptions

    @Flag(help: "Take the layers an interrupted analysis finished from analysis-checkpoint.h5 instead of recomputing them.")
    var resume = false

    func run() throws {
        try reportingFailures { try PhaseThree.run(directory: URL(fileURLWithPath: runDirectory), options: analysis, resume: resume) }
    }
}

/// Phase 3 wiring and its table on the terminal.
enum PhaseThree {
    /// Phase 3. With `resume` and `keepingMatchingAnalysis` (as `run --resume` does), an existing analysis.h5 made
    /// with the analysis flags given is kept; one made with other flags is redone from scratch.
    static func run(directory: URL, options: AnalysisOptions, resume: Bool, keepingMatchingAnalysis: Bool = false) throws {
        let analysisFile = directory.appendingPathComponent(RunLayout.analysisFile)
        if resume && keepingMatchingAnalysis && FileManager.default.fileExists(atPath: analysisFile.path) {
            guard let departure = RunAnalysis.departure(ofAnalysisIn: directory, from: options.parameters,
                                                        sweepThresholds: try options.sweepThresholds()) else {
                return say("phase 3 of \(directory.path) is complete; nothing to resume")
            }
            say("phase 3 of \(directory.path) is complete but \(RunLayout.analysisFile) departs from the flags given: \(departure); analysing again")
            return try run(directory: directory, options: options, resume: false)
        }
        Interruption.removeStaleTemporaries(in: directory)
        let started = Date()
        var lastPrint = Date.distantPast
        // Fault injection for the resume test: die by SIGKILL when the analysis reaches this layer (after the
        // checkpoint of the layers before it is written).
        let killAtLayer = ProcessInfo.processInfo.environment["FILTERLENS_TEST_KILL_AT_ANALYSIS_LAYER"].flatMap { Int($0) }
        let results = try RunAnalysis.run(directory: directory, parameters: options.parameters,
                                          sweepThresholds: try options.sweepThresholds(), resume: resume) { progress in
            if progress.layer == killAtLayer { kill(getpid(), SIGKILL) }
            if progress.fromCheckpoint {
                say("  analyze layer \(progress.layer)/\(progress.layerCount): taken from \(RunLayout.analysisCheckpointFile)")
                return
            }
            guard progress.imagesDone == progress.imagesTotal || Date().timeIntervalSince(lastPrint) > 10 else { return }
            lastPrint = Date()
            FileHandle.standardError.write(Data(String(format: "  analyze layer %d/%d  %d/%d images  %.1fs\n", progress.layer,
                                                       progress.layerCount, progress.imagesDone, progress.imagesTotal,
                                                       progress.elapsed).utf8))
        }
        say(String(format: "phase 3 (threshold %.2f, %@ normalization) in %.1fs:", options.threshold, options.normalization,
                   Date().timeIntervalSince(started)))
        let shown = [LayerColumns.clustersPerFilter, LayerColumns.meanClusterSize, LayerColumns.meanSignal, LayerColumns.meanNoise,
                     LayerColumns.snr, LayerColumns.silentFraction, LayerColumns.noClusterFraction]
        say((["layer", LayerColumns.probeFinalSR.title.padding(toLength: 6, withPad: " ", startingAt: 0)] + shown.map(\.title)).joined(separator: "  "))
        for result in results {
            let cells = [String(format: "%5d", result.layer), String(format: "%.4f", result.probeSR)]
                + shown.map { String(format: "%\($0.title.count).2f", result.summary.value($0)) }
            say(cells.joined(separator: "  "))
        }
        say("wrote \(directory.appendingPathComponent(RunLayout.analysisFile).path) and layers.csv")
    }
}

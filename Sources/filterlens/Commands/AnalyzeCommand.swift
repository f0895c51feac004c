import ArgumentParser
import Foundation
import Pipeline

/// `filterlens analyze`: phase 3.
struct AnalyzeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "analyze",
        abstract: "Phase 3: filter-label matrices, clusters, signal, noise and SNR per layer; writes analysis.h5 and layers.csv.",
        discussion: "Reads only the HDF5 files of the run (run.h5, phase 2's probe.h5 (or a version 1 run.h5 holding the probes), and activations.h5 or, when there is none, fields.h5: the per-label field sums that filterlens-torch's dissect writes), so it also works on files other tools wrote in the documented layout (docs/hdf5-layout.md).")

    @Argument(help: "Run directory.")
    var runDirectory: String

    @OptionGroup var analysis: AnalysisOptions

    @Flag(help: "Take the layers an interrupted analysis finished from analysis-checkpoint.h5 instead of recomputing them.")
    var resume = false

    @Option(help: ArgumentHelp("Analyse only these layers, comma-separated (e.g. 13 for the last layer of a VGG-16); analysis.h5 and layers.csv then hold only them.",
                               valueName: "l1,l2,..."))
    var layers: NumberList<Int>?

    func validate() throws {
        if let layers, layers.values.contains(0) { throw ValidationError("--layers: layers are numbered from 1") }
    }

    func run() throws {
        try reportingFailures {
            let directory = URL(fileURLWithPath: runDirectory)
            try RunLock.holding(RunDirectory(directory), command: "filterlens analyze", creating: false) {
                var request = try analysis.request(directory: directory, resume: resume)
                request.layers = layers?.values
                try Pipeline.analyze(request, .console())
            }
        }
    }
}

import ArgumentParser
import Foundation
import Pipeline
import Plot
import Report
import RunStore

/// `filterlens sweep-labels`: one run per label count, and the last layer's measures against the count ([B]).
struct SweepLabelsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sweep-labels",
        abstract: "One run per label count (the first K labels), then SR, cluster size, clusters per filter and SNR against the count.",
        discussion: """
        Each count K is a full `run --labels K` in OUT/labels-K (same preset, recipe and seed). Then OUT/compare.html shows \
        the sweep figures and the per-layer comparison, OUT/sweep.csv holds one row per count (last layer) and \
        OUT/sweep_layers.csv one row per count and layer. --resume continues: finished runs are kept, interrupted ones \
        continue from their checkpoints, missing ones start.
        """)

    @OptionGroup var training: TrainingOptions
    @OptionGroup var probe: ProbeOptions
    @OptionGroup var analysis: AnalysisOptions
    @OptionGroup var checkpoints: CheckpointOptions

    @Option(help: "Label counts, comma-separated (each at least 2), e.g. 3,5,7,10.")
    var counts: NumberList<Int>

    @Option(help: "Training images per label: each run uses the first K x N images of its K labels (default: --subset or the preset's, the same total for every count).")
    var trainPerLabel: Int?

    @Option(help: "Test images per label, likewise (default: --test-subset or the preset's).")
    var testPerLabel: Int?

    @Option(help: "Sweep directory (default: outputs/sweep-labels-<preset>-seed<seed>).")
    var out: String?

    @Flag(help: "Continue an interrupted sweep in --out.")
    var resume = false

    @Flag(help: "Overwrite existing runs of the sweep.")
    var force = false

    func validate() throws {
        if training.labels != nil { throw ValidationError("sweep-labels sets --labels itself; give --counts instead") }
        for (name, value) in [("--train-per-label", trainPerLabel), ("--test-per-label", testPerLabel)] {
            if let value, value < 1 { throw ValidationError("\(name) must be at least 1") }
        }
        if trainPerLabel != nil && training.subset != nil { throw ValidationError("give --train-per-label or --subset, not both") }
        if testPerLabel != nil && training.testSubset != nil { throw ValidationError("give --test-per-label or --test-subset, not both") }
        _ = try labelCounts()
    }

    /// The counts, ascending.
    func labelCounts() throws -> [Int] {
        if let small = counts.values.first(where: { $0 < 2 }) {
            throw ValidationError("--counts: \(small) is not a label count of at least 2")
        }
        guard counts.values.count >= 2, Set(counts.values).count == counts.values.count else {
            throw ValidationError("--counts needs two or more different counts, e.g. 3,5,7,10")
        }
        return counts.values.sorted()
    }

    func run() throws {
        try reportingFailures {
            let preset = training.presetName
            let sweep = URL(fileURLWithPath: out ?? "\(DefaultPaths.outputs)/sweep-labels-\(preset)-seed\(training.seed)")
            var directories: [URL] = []
            let counts = try labelCounts()
            for (index, count) in counts.enumerated() {
                let directory = sweep.appendingPathComponent("labels-\(count)")
                var options = training
                options.labels = String(count)
                if let trainPerLabel { options.subset = trainPerLabel * count }
                if let testPerLabel { options.testSubset = testPerLabel * count }
                let started = FileManager.default.fileExists(atPath: directory.appendingPathComponent(RunLayout.checkpointFile).path)
                let continuing = resume && started
                say("sweep \(index + 1)/\(counts.count): \(count) labels in \(directory.path)" + (continuing ? " (resuming)" : ""))
                let train = try options.request(directory: directory, checkpoints: checkpoints, resume: continuing, force: force)
                try RunLock.holding(RunDirectory(directory), command: "filterlens sweep-labels", creating: true) {
                    try Pipeline.run(train: train,
                                     probe: try probe.request(directory: directory, checkpoints: checkpoints, resume: continuing),
                                     analysis: try analysis.request(directory: directory, resume: continuing, keepsMatchingAnalysis: true),
                                     .console()) { "stopped after \($0) of \(directory.path); continue with `filterlens sweep-labels --resume` and the same flags" }
                    say("report: \(try ReportWiring.run(directory: directory).path)")
                }
                directories.append(directory)
            }
            let set = try TemplateSet(directory: TemplateSet.locate(explicit: nil))
            var points: [LabelSweep.Point] = []
            let page = try Comparison.write(runs: directories, to: sweep, templates: set,
                                            title: "FilterLens label-count sweep: \(preset), counts \(counts.map(String.init).joined(separator: ", "))") { runs in
                points = zip(counts, runs).map { LabelSweep.Point(labelCount: $0, run: $1) }
                return LabelSweep.figures(points)
            }
            try AtomicFile.write(Data(LabelSweep.table(points).text.utf8), to: sweep.appendingPathComponent("sweep.csv"))
            try AtomicFile.write(Data(LabelSweep.layerTable(points).text.utf8), to: sweep.appendingPathComponent("sweep_layers.csv"))
            say(LabelSweep.table(points).text.trimmingCharacters(in: .newlines))
            say("sweep: \(page.path)")
        }
    }
}

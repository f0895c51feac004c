import ArgumentParser
import Foundation
import Pipeline

/// `filterlens run`: all phases and the report in one command.
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Train, probe, analyze, draw the figures and write the report; prints the report's path.",
        discussion: "The default preset, small, finishes in a few minutes on 2 cores. --resume continues an interrupted run in whichever phase it stopped: phases already complete are kept (a finished analysis only if made with the analysis flags given; else it is redone), phases 1 and 2 continue from their checkpoints, the analysis from its last finished layer.")

    @OptionGroup var training: TrainingOptions
    @OptionGroup var probe: ProbeOptions
    @OptionGroup var analysis: AnalysisOptions
    @OptionGroup var checkpoints: CheckpointOptions

    @Option(help: "Run directory (default: outputs/<preset>-seed<seed>).")
    var out: String?

    @Flag(help: "Continue an interrupted run in --out.")
    var resume = false

    @Flag(help: "Overwrite an existing run directory.")
    var force = false

    func run() throws {
        try reportingFailures {
            let directory = training.directory(out)
            let context = PipelineContext.console()
            let train = try training.request(directory: directory, checkpoints: checkpoints, resume: resume, force: force)
            try RunLock.holding(RunDirectory(directory), command: "filterlens run", creating: !resume) {
                try Pipeline.run(train: train,
                                 probe: try probe.request(directory: directory, checkpoints: checkpoints, resume: resume),
                                 analysis: try analysis.request(directory: directory, resume: resume, keepsMatchingAnalysis: true),
                                 context) { "stopped after \($0); \(context.stops.resumeHint(phase: .train, directory: directory))" }
                let report = try ReportWiring.run(directory: directory)
                say("report: \(report.path)")
            }
        }
    }
}

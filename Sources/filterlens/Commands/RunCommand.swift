import ArgumentParser
import Foundation
import RunStore

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
            let directory = URL(fileURLWithPath: out ?? RunDirectory.defaultPath(
                preset: training.notation == nil ? training.preset : "custom", seed: training.seed))
            try PhaseOne.run(training, checkpoints: checkpoints, directory: directory, resume: resume, force: force)
            let resumeHint = Interruption.resumeHint(phase: "run", directory: directory)
            try Interruption.stopIfRequested("stopped after phase 1; \(resumeHint)")
            try PhaseTwo.run(directory: directory, options: probe, checkpoints: checkpoints, resume: resume)
            try Interruption.stopIfRequested("stopped after phase 2; \(resumeHint)")
            try PhaseThree.run(directory: directory, options: analysis, resume: resume, keepingMatchingAnalysis: true)
            let report = try ReportWiring.run(directory: directory)
            say("report: \(report.path)")
        }
    }
}

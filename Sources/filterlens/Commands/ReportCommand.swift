import ArgumentParser
import Foundation
import Pipeline
import Report

/// `filterlens report`: figures and the HTML report of a run.
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Draw the run's figures (PDF, PNG, CSV under figures/) and write outputs/RUN/report.html.")

    @Argument(help: "Run directory (analysed).")
    var runDirectory: String

    @Option(help: "Templates folder (default: templates/ of the checkout).")
    var templates: String?

    func run() throws {
        try reportingFailures {
            let directory = URL(fileURLWithPath: runDirectory)
            try RunLock.holding(RunDirectory(directory), command: "filterlens report", creating: false) {
                let report = try ReportWiring.run(directory: directory, templates: templates)
                say("report: \(report.path)")
            }
        }
    }
}

/// `filterlens compare`: several runs side by side.
struct CompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Lay several analysed runs side by side (SR and SNR per layer) in one report.")

    @Argument(help: "Run directories (each analysed).")
    var runs: [String]

    @Option(help: "Output directory of the comparison.")
    var out = "outputs/compare"

    @Option(help: "Templates folder (default: templates/ of the checkout).")
    var templates: String?

    func validate() throws {
        guard runs.count >= 1 else { throw ValidationError("give at least one run directory") }
    }

    func run() throws {
        try reportingFailures {
            let set = try TemplateSet(directory: TemplateSet.locate(explicit: templates))
            let url = try Comparison.write(runs: runs.map { URL(fileURLWithPath: $0) }, to: URL(fileURLWithPath: out), templates: set)
            say("comparison: \(url.path)")
        }
    }
}

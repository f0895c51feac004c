import ArgumentParser
import Foundation

/// `filterlens report`: figures and the HTML report of a run.
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Draw the run's figures (PDF, PNG, CSV) and write outputs/RUN/report.html.")

    @Argument(help: "Run directory.")
    var runDirectory: String

    func run() throws {
        try reportingFailures {
            let report = try ReportWiring.run(directory: URL(fileURLWithPath: runDirectory))
            say("report: \(report.path)")
        }
    }
}

/// `filterlens compare`: several runs side by side.
struct CompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Lay several analysed runs side by side (SR and SNR per layer) in one report.")

    @Argument(help: "Run directories.")
    var runs: [String]

    @Option(help: "Output directory of the comparison.")
    var out = "outputs/compare"

    func run() throws {
        try reportingFailures {
            throw UsageError("compare: not yet available")
        }
    }
}

/// Report wiring.
enum ReportWiring {
    static func run(directory: URL) throws -> URL {
        throw UsageError("report: not yet available")
    }
}

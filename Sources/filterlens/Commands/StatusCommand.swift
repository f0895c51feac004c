import ArgumentParser
import Foundation
import Pipeline

/// `filterlens status`: where a run stands, read from its folder.
struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Say where a run stands: each phase's progress, SR so far, time left, and the command that continues it.",
        discussion: """
        Reads the run folder's files (checkpoints, run.h5, probe.h5, analysis.h5, report.html) and writes nothing, so \
        it is safe beside a run in progress. The time left is the median epoch time so far times the epochs to go.
        """)

    @Argument(help: "Run directory.")
    var runDirectory: String

    func run() throws {
        try reportingFailures {
            say(try RunStatus.read(RunDirectory(URL(fileURLWithPath: runDirectory))).text)
        }
    }
}

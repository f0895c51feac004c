import ArgumentParser
import Foundation
import Pipeline

/// `filterlens probe`: phase 2.
struct ProbeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "probe",
        abstract: "Phase 2: train a linear probe (a new bias-free FC layer) on every frozen convolutional layer; writes SR per layer into probe.h5.")

    @Argument(help: "Run directory written by `filterlens train`.")
    var runDirectory: String

    @OptionGroup var probe: ProbeOptions
    @OptionGroup var checkpoints: CheckpointOptions

    @Flag(help: "Continue an interrupted phase 2 from probe-checkpoint.h5 (same flags as the interrupted one).")
    var resume = false

    func run() throws {
        try reportingFailures {
            let directory = URL(fileURLWithPath: runDirectory)
            try RunLock.holding(RunDirectory(directory), command: "filterlens probe", creating: false) {
                let request = try probe.request(directory: directory, checkpoints: checkpoints, resume: resume)
                try Pipeline.probe(request, .console())
            }
        }
    }
}

import ArgumentParser
import Pipeline

/// `filterlens train`: phase 1.
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Phase 1: train the whole network and write run.h5 (weights, metrics) and activations.h5.",
        discussion: "A checkpoint is written after every epoch, every --checkpoint-minutes inside one, and on Ctrl-C; --resume continues an interrupted run to the same result.")

    @OptionGroup var training: TrainingOptions
    @OptionGroup var checkpoints: CheckpointOptions

    @Option(help: "Run directory (default: outputs/<preset>-seed<seed>).")
    var out: String?

    @Flag(help: "Continue the interrupted run in --out from its last checkpoint.")
    var resume = false

    @Flag(help: "Overwrite an existing run directory.")
    var force = false

    func run() throws {
        try reportingFailures {
            let directory = training.directory(out)
            let request = try training.request(directory: directory, checkpoints: checkpoints, resume: resume, force: force)
            try RunLock.holding(RunDirectory(directory), command: "filterlens train", creating: !resume) {
                try Pipeline.train(request, .console())
            }
        }
    }
}

import ArgumentParser
import Foundation
import Pipeline

/// Options of phase 2 (shared by `probe`, `run` and `sweep-labels`).
struct ProbeOptions: ParsableArguments {
    @Option(name: .customLong("probe-epochs"), help: "Epochs of head training (default: the preset's).")
    var epochs: Int?

    @Option(name: .customLong("probe-lr"), help: "Heads' starting learning rate.")
    var learningRate = 0.01

    @Option(name: .customLong("probe-lr-decay"), help: "Heads' learning-rate factor per epoch.")
    var learningRateDecay = 0.975

    @Option(name: .customLong("probe-momentum"), help: "Heads' Nesterov momentum.")
    var momentum = 0.975

    @Option(name: .customLong("probe-weight-decay"), help: "Heads' L2 weight decay.")
    var weightDecay = 1e-3

    func validate() throws {
        if let epochs, epochs < 1 { throw ValidationError("--probe-epochs must be at least 1") }
        guard learningRate > 0, learningRate.isFinite else { throw ValidationError("--probe-lr must be positive") }
        guard momentum >= 0 && momentum < 1 else { throw ValidationError("--probe-momentum must be in [0, 1)") }
        guard weightDecay >= 0 else { throw ValidationError("--probe-weight-decay must be >= 0") }
    }

    /// Phase 2's configuration for the run in `directory`.
    func request(directory: URL, checkpoints: CheckpointOptions, resume: Bool) -> ProbeRequest {
        ProbeRequest(directory: RunDirectory(directory), epochs: epochs, learningRate: learningRate,
                     learningRateDecay: learningRateDecay, momentum: momentum, weightDecay: weightDecay,
                     checkpointMinutes: checkpoints.checkpointMinutes, resume: resume)
    }
}

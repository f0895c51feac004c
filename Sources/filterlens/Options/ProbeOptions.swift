import ArgumentParser
import Foundation
import Pipeline

/// Options of phase 2 (shared by `probe`, `run` and `sweep-labels`).
struct ProbeOptions: ParsableArguments {
    @Option(name: .customLong("probe-epochs"), help: "Epochs of probe training (default: the preset's).")
    var epochs: Int?

    @Option(name: .customLong("probe-lr"), help: "The probes' starting learning rate: one for all, or one per convolutional layer, comma-separated (e.g. 0.001,0.001,0.01,0.01,0.01,0.01).")
    var learningRates = "0.01"

    @Option(name: .customLong("probe-lr-decay"), help: "The probes' learning-rate factor per epoch.")
    var learningRateDecay = 0.975

    @Option(name: .customLong("probe-momentum"), help: "The probes' Nesterov momentum.")
    var momentum = 0.975

    @Option(name: .customLong("probe-weight-decay"), help: "The probes' L2 weight decay.")
    var weightDecay = 1e-3

    @Option(name: .customLong("probe-seed"), help: "Seed of the probes' initialization, shuffling and augmentation (default: the run's seed + 7919); another seed measures how much the heads' randomness moves SR(l) and phase 3.")
    var seed: UInt64?

    func validate() throws {
        if let epochs, epochs < 1 { throw ValidationError("--probe-epochs must be at least 1") }
        _ = try parsedRates()
        guard momentum >= 0 && momentum < 1 else { throw ValidationError("--probe-momentum must be in [0, 1)") }
        guard weightDecay >= 0 else { throw ValidationError("--probe-weight-decay must be >= 0") }
    }

    /// The rates of `--probe-lr`, each positive and finite.
    func parsedRates() throws -> [Double] {
        let rates = try learningRates.split(separator: ",").map { text in
            guard let rate = Double(text.trimmingCharacters(in: .whitespaces)), rate > 0, rate.isFinite else {
                throw ValidationError("--probe-lr: \"\(text)\" is not a positive learning rate")
            }
            return rate
        }
        guard !rates.isEmpty else { throw ValidationError("--probe-lr needs at least one rate") }
        return rates
    }

    /// Phase 2's configuration for the run in `directory`.
    func request(directory: URL, checkpoints: CheckpointOptions, resume: Bool) throws -> ProbeRequest {
        ProbeRequest(directory: RunDirectory(directory), epochs: epochs, learningRates: try parsedRates(),
                     learningRateDecay: learningRateDecay, momentum: momentum, weightDecay: weightDecay,
                     checkpointMinutes: checkpoints.checkpointMinutes, resume: resume, seed: seed)
    }
}

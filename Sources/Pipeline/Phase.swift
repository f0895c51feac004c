import Foundation

/// The three phases of a run, in the order they run; each reads what the ones before it wrote (docs/architecture.md).
public enum Phase: Int, CaseIterable, Sendable, CustomStringConvertible {
    /// Phase 1: train the network; writes run.h5 (weights, metrics) and activations.h5.
    case train = 1
    /// Phase 2: one linear probe per frozen convolutional layer; writes probe.h5.
    case probe
    /// Phase 3: filter-label matrices, clusters and SNR per layer; writes analysis.h5 and layers.csv.
    case analyze

    /// "phase 1", "phase 2", "phase 3".
    public var description: String { "phase \(rawValue)" }

    /// The command that runs this phase alone: "train", "probe", "analyze".
    public var command: String {
        switch self {
        case .train: "train"
        case .probe: "probe"
        case .analyze: "analyze"
        }
    }
}

import Dispatch

/// Wall-clock seconds spent in each stage of a `Network` during its last forward pass and its last backward pass,
/// recorded while `Network.timings` is non-nil (nil, the default, records nothing and costs nothing).
///
/// Stages in network order: one per convolution block ("conv1" ... "convL": 3x3 convolution, batch norm, ReLU and
/// the max-pool that follows directly), one per FC layer ("fc1" ... "fcK", the last giving the labels), then the
/// loss ("loss"). Layout conversions are charged to the stage they serve: the input's N x C x H x W -> C x N x H x W
/// to conv1's forward; flattening the last block output (and un-flattening its gradient) to fc1.
public struct LayerTimings: Sendable, Equatable {
    /// What a stage is.
    public enum Kind: String, Sendable {
        /// 3x3 convolution, batch norm, ReLU and the max-pool that follows directly.
        case convolutionBlock = "conv_block"
        /// Fully connected layer with bias.
        case fullyConnected = "fc"
        /// Softmax cross-entropy (mean over the batch).
        case loss
    }

    /// Stage names in network order ("conv1", ..., "fc1", ..., "loss").
    public let stageNames: [String]
    /// The kind of each stage (same order as `stageNames`).
    public let stageKinds: [Kind]
    /// Seconds of each stage's forward pass in the last forward. The loss's is 0: the network computes the softmax,
    /// the loss and its gradient in one fused pass at the start of `backward`, counted as the loss's backward.
    public var forwardSeconds: [Double]
    /// Seconds of each stage's backward pass in the last backward (the loss's: softmax, loss and its gradient).
    public var backwardSeconds: [Double]

    /// A record of zeros for the stages of `architecture`.
    public init(architecture: Architecture) {
        let convolutions = architecture.convolutionCount
        let fullyConnected = architecture.fullyConnectedWidths.count
        stageNames = (1...convolutions).map { "conv\($0)" } + (1...fullyConnected).map { "fc\($0)" } + ["loss"]
        stageKinds = Array(repeating: .convolutionBlock, count: convolutions)
            + Array(repeating: .fullyConnected, count: fullyConnected) + [.loss]
        forwardSeconds = Array(repeating: 0, count: stageNames.count)
        backwardSeconds = Array(repeating: 0, count: stageNames.count)
    }

    /// Number of stages (convolution blocks + FC layers + 1 for the loss).
    public var stageCount: Int { stageNames.count }
    /// Index of the loss stage (the last).
    public var lossStage: Int { stageNames.count - 1 }
    /// Seconds of the last forward and backward over all stages.
    public var totalSeconds: Double { forwardSeconds.reduce(0, +) + backwardSeconds.reduce(0, +) }

    /// A monotonic clock reading in nanoseconds.
    @inline(__always)
    static func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }
}

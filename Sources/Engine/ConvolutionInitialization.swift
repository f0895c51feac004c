import Tensor

/// How a network's convolution weights (F x C x 3 x 3) are drawn before phase 1, recorded with every run
/// (`RunConfiguration.convolutionInitialization`, run.h5 `/config@conv_init`).
///
/// Batch norm follows every convolution, so a weight's scale does not change the block's output, but it sets the
/// effective learning rate (about lr / |w|^2) until weight decay has shrunk the weights: two initializations of the
/// same recipe train differently (issue 33: the engine's He-normal trained VGG-6 below PyTorch from epoch 1 on).
public enum ConvolutionInitialization: String, CaseIterable, Sendable {
    /// PyTorch's `nn.Conv2d` default, which [L] (`VGG16_model.py`) keeps: kaiming-uniform with a = sqrt(5), i.e.
    /// uniform in +-1/sqrt(C*9) (standard deviation 1/sqrt(3*C*9)). [L]'s convolutions also have a bias; batch norm
    /// subtracts it again in training and inference alike, so the engine's bias-free convolutions compute the same.
    case pytorchDefault = "pytorch-default"
    /// He / kaiming normal with fan_in: normal with standard deviation sqrt(2 / (C*9)), 2.45 times [L]'s. Every run
    /// FilterLens trained before this choice was recorded used it.
    case heNormal = "he-normal"

    /// What runs made before the choice was recorded used.
    public static let beforeRecording = ConvolutionInitialization.heNormal

    /// The recorded value of a run (nil: recorded before the choice existed, `beforeRecording`).
    public static func recorded(_ value: String?) throws(ConvolutionInitializationError) -> ConvolutionInitialization {
        guard let value else { return beforeRecording }
        guard let initialization = ConvolutionInitialization(rawValue: value) else {
            throw ConvolutionInitializationError(value: value)
        }
        return initialization
    }

    /// Draws a convolution weight of `fanIn` = C*9 inputs per filter from `generator`.
    @inline(__always)
    func draw(fanIn: Int, _ generator: inout SeededGenerator) -> Float {
        switch self {
        case .pytorchDefault:
            let bound = 1 / Float(fanIn).squareRoot()
            return generator.nextUniform(-bound, bound)
        case .heNormal:
            return Float(generator.nextGaussian() * (2.0 / Double(fanIn)).squareRoot())
        }
    }
}

/// A recorded convolution initialization this version of FilterLens does not know.
public struct ConvolutionInitializationError: Error, CustomStringConvertible, Sendable {
    /// The value as recorded.
    public let value: String
    public var description: String {
        "unknown convolution initialization \"\(value)\" (known: "
            + ConvolutionInitialization.allCases.map(\.rawValue).joined(separator: ", ") + ")"
    }
}

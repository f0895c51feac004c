import Tensor

/// Phase 2's probe: a bias-free FC layer (labels x D) on a frozen feature vector, trained by SGD on softmax
/// cross-entropy.
public final class LinearHead {
    /// Length D of a feature vector.
    public let inputSize: Int
    /// Number of labels.
    public let labelCount: Int
    /// Largest batch accepted.
    public let maxBatch: Int
    /// labelCount x inputSize, row-major; initialised uniform in +-1/sqrt(D) [L].
    public let weight: FloatBuffer
    /// d loss / d weight of the last `backward`, same layout as `weight`.
    public let gradient: FloatBuffer
    private let logits: FloatBuffer             // N x labelCount
    private let gradLogits: FloatBuffer         // N x labelCount

    /// A head for D = `inputSize` features and `labelCount` labels, weights drawn from `seed`.
    public init(inputSize: Int, labelCount: Int, maxBatch: Int, seed: UInt64) {
        precondition(inputSize >= 1 && labelCount >= 2 && maxBatch >= 1, "bad LinearHead sizes")
        self.inputSize = inputSize
        self.labelCount = labelCount
        self.maxBatch = maxBatch
        weight = FloatBuffer(count: labelCount * inputSize)
        gradient = FloatBuffer(count: labelCount * inputSize)
        logits = FloatBuffer(count: maxBatch * labelCount)
        gradLogits = FloatBuffer(count: maxBatch * labelCount)
        var generator = SeededGenerator(seed: seed)
        let bound = 1 / Float(inputSize).squareRoot()
        for i in 0..<weight.count { weight[i] = generator.nextUniform(-bound, bound) }
    }

    /// Logits (N x labelCount) of `features` (N x D), valid until the next call.
    public func forward(features: UnsafePointer<Float>, batch: Int) -> UnsafeBufferPointer<Float> {
        precondition(batch >= 1 && batch <= maxBatch, "batch \(batch) is outside 1...\(maxBatch)")
        Layers.fullyConnectedForward(input: features, weight: weight.pointer, bias: nil, output: logits.pointer,
                                     batch: batch, inputSize: inputSize, outputSize: labelCount)
        return UnsafeBufferPointer(start: logits.pointer, count: batch * labelCount)
    }

    /// Backward of the mean softmax cross-entropy of the last `forward`'s logits against `labels` (N, 0-based):
    /// writes d loss / d weight into `gradient` (the update is the optimizer's: `SGD.step(parameters: weight,
    /// gradients: gradient, ...)`). `features` (N x D) must be those of that forward. Returns the mean loss and the
    /// correct top-1 count of that forward.
    public func backward(features: UnsafePointer<Float>, labels: UnsafePointer<Int32>, batch: Int) -> (loss: Float, correct: Int) {
        precondition(batch >= 1 && batch <= maxBatch, "batch \(batch) is outside 1...\(maxBatch)")
        let result = Layers.softmaxCrossEntropy(logits: logits.pointer, labels: labels, batch: batch, classes: labelCount,
                                                gradLogits: gradLogits.pointer)
        Layers.fullyConnectedBackward(input: features, weight: weight.pointer, gradOutput: gradLogits.pointer,
                                      gradWeight: gradient.pointer, gradBias: nil, gradInput: nil,
                                      batch: batch, inputSize: inputSize, outputSize: labelCount)
        return result
    }

    /// How many of the N samples the head classifies correctly (top-1), and their mean loss.
    public func evaluate(features: UnsafePointer<Float>, labels: UnsafePointer<Int32>, batch: Int)
        -> (loss: Float, correct: Int)
    {
        _ = forward(features: features, batch: batch)
        return Layers.softmaxCrossEntropy(logits: logits.pointer, labels: labels, batch: batch,
                                          classes: labelCount, gradLogits: nil)
    }
}

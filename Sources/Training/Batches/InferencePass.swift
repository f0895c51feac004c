import CIFAR
import Engine
import Tensor

/// Runs a network in inference mode over a set of images in order, unaugmented, one batch at a time, reusing one
/// input buffer (batch x 3 x 32 x 32 floats) and one label buffer (batch labels), both owning their memory.
final class InferencePass {
    let batchSize: Int
    private let input: FloatBuffer
    private let labels: Int32Buffer
    private let assembler = BatchAssembler.unaugmented

    init(batchSize: Int) {
        self.batchSize = batchSize
        input = FloatBuffer(count: batchSize * LabeledImages.pixelsPerImage)
        labels = Int32Buffer(count: batchSize)
    }

    /// Calls `body` after each batch's forward pass with the batch size and its labels; the network's logits and
    /// block outputs then hold that batch.
    func run<E: Error>(_ network: Network, over images: LabeledImages,
                       _ body: (Int, UnsafePointer<Int32>) throws(E) -> Void) throws(E) {
        var none: SeededGenerator? = nil
        var from = 0
        while from < images.count {
            let batch = min(batchSize, images.count - from)
            assembler.fill(input: input.pointer, labels: labels.pointer, from: images, indices: from..<(from + batch), random: &none)
            _ = network.forward(input.pointer, batch: batch, mode: .inference)
            try body(batch, labels.pointer)
            from += batch
        }
    }
}

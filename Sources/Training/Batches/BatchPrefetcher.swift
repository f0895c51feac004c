import CIFAR
import Dispatch
import Engine
import RunStore
import Tensor

/// One epoch's training batches, assembled one step ahead on a background thread: while the network trains on
/// batch k, batch k+1 is scaled and augmented into the other of two buffers. Batches come in the epoch's order and
/// draw from `random` in that order, so the result is the same as assembling each batch just before its step.
public final class BatchPrefetcher {
    /// A batch ready for the network: input (batch x 3 x 32 x 32) and labels (batch), valid until the next `next()`.
    public struct Batch {
        public let input: UnsafePointer<Float>
        public let labels: UnsafePointer<Int32>
        public let size: Int
    }

    /// What the background fills work on. Each queued fill holds it, so it (and its buffers) outlives the last fill
    /// even when the prefetcher is released first; the prefetcher itself is never held by the queue.
    private final class Assembly: @unchecked Sendable {
        let images: LabeledImages
        let order: [Int]
        var random: SeededGenerator?
        let assembler: BatchAssembler
        let inputs: [FloatBuffer]
        let labels: [Int32Buffer]
        let filled = [DispatchSemaphore(value: 0), DispatchSemaphore(value: 0)]

        init(images: LabeledImages, order: [Int], batchSize: Int, random: SeededGenerator?, shiftFill: ShiftFill) {
            self.images = images
            assembler = BatchAssembler(shiftFill: shiftFill)
            self.order = order
            self.random = random
            inputs = (0..<2).map { _ in FloatBuffer(count: batchSize * LabeledImages.pixelsPerImage) }
            labels = (0..<2).map { _ in Int32Buffer(count: batchSize) }
        }

        /// Fills buffer `target` with the images at `order[from..<from + size]` and signals it.
        func fill(_ target: Int, from: Int, size: Int) {
            assembler.fill(input: inputs[target].pointer, labels: labels[target].pointer, from: images,
                           indices: order[from..<(from + size)], random: &random)
            filled[target].signal()
        }
    }

    private let assembly: Assembly
    private let batchSize: Int
    private let queue = DispatchQueue(label: "filterlens.batch-prefetch")
    /// First image of the next batch to hand out, and of the next batch to assemble.
    private var nextOut: Int, nextIn: Int
    private var slot = 0

    /// Batches of `batchSize` of `images` in `order`, starting at position `start` (a resumed epoch); `random`
    /// (already advanced past the images before `start`) augments them, its shifts filling as `shiftFill` says; nil
    /// leaves them as they are.
    public init(images: LabeledImages, order: [Int], batchSize: Int, start: Int, random: SeededGenerator?, shiftFill: ShiftFill) {
        assembly = Assembly(images: images, order: order, batchSize: batchSize, random: random, shiftFill: shiftFill)
        self.batchSize = batchSize
        nextOut = start
        nextIn = start
        assembleAhead(into: 0)
    }

    /// The next batch (waiting for its assembly if needed), or nil at the end of the epoch. Starts assembling the
    /// batch after it into the other buffer.
    public func next() -> Batch? {
        guard nextOut < assembly.order.count else { return nil }
        assembly.filled[slot].wait()
        let size = min(batchSize, assembly.order.count - nextOut)
        let batch = Batch(input: assembly.inputs[slot].pointer, labels: assembly.labels[slot].pointer, size: size)
        nextOut += size
        slot = 1 - slot
        assembleAhead(into: slot)
        return batch
    }

    /// Queues the assembly of the batch at `nextIn` into buffer `target` (nothing past the end of the epoch).
    private func assembleAhead(into target: Int) {
        guard nextIn < assembly.order.count else { return }
        let from = nextIn, size = min(batchSize, assembly.order.count - from)
        nextIn += size
        let assembly = assembly
        queue.async { assembly.fill(target, from: from, size: size) }
    }
}

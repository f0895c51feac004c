import CIFAR
import Engine
import RunStore
import Training
import Tensor
import Testing

@Suite("training batches")
struct BatchTests {
    /// 37 images of random pixels, labels 0...9.
    static let images: LabeledImages = {
        var generator = SeededGenerator(seed: 11)
        let count = 37
        let pixels = (0..<(count * CIFAR10.pixelsPerImage)).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
        return LabeledImages(pixels: pixels, labels: (0..<count).map { UInt8($0 % 10) })
    }()

    /// The batches of one epoch assembled one by one on the calling thread, from image `start` on.
    func direct(order: [Int], batchSize: Int, start: Int, augment: Bool) -> [([Float], [Int32])] {
        var random: SeededGenerator? = augment ? SeededGenerator(seed: 3, stream: 4) : nil
        BatchAssembler.skip(images: start, random: &random)
        var batches: [([Float], [Int32])] = []
        var from = start
        while from < order.count {
            let size = min(batchSize, order.count - from)
            var input = [Float](repeating: 0, count: size * CIFAR10.pixelsPerImage)
            var labels = [Int32](repeating: 0, count: size)
            input.withUnsafeMutableBufferPointer { input in
                labels.withUnsafeMutableBufferPointer { labels in
                    BatchAssembler(shiftFill: .zero).fill(input: input.baseAddress!, labels: labels.baseAddress!, from: Self.images,
                                          indices: order[from..<(from + size)], random: &random)
                }
            }
            batches.append((input, labels))
            from += size
        }
        return batches
    }

    @Test("prefetched batches equal batches assembled in turn, with and without augmentation, from any start",
          arguments: [(0, true), (0, false), (16, true), (32, true)])
    func prefetchedEqualsDirect(start: Int, augment: Bool) {
        var generator = SeededGenerator(seed: 5)
        let order = Array(0..<Self.images.count).shuffled(using: &generator)
        let expected = direct(order: order, batchSize: 8, start: start, augment: augment)
        var random: SeededGenerator? = augment ? SeededGenerator(seed: 3, stream: 4) : nil
        BatchAssembler.skip(images: start, random: &random)
        let prefetcher = BatchPrefetcher(images: Self.images, order: order, batchSize: 8, start: start, random: random, shiftFill: .zero)
        var seen: [([Float], [Int32])] = []
        while let batch = prefetcher.next() {
            seen.append((Array(UnsafeBufferPointer(start: batch.input, count: batch.size * CIFAR10.pixelsPerImage)),
                         Array(UnsafeBufferPointer(start: batch.labels, count: batch.size))))
        }
        #expect(seen.count == expected.count)
        for (index, (got, want)) in zip(seen, expected).enumerated() {
            #expect(got.0 == want.0 && got.1 == want.1, "batch \(index) differs")
        }
        #expect(seen.last?.1.count == (Self.images.count - start - 1) % 8 + 1, "the last batch holds the rest")
    }

    /// A prefetcher released while a fill is queued or running (an epoch stopped early, or one that ends while the
    /// background thread still holds the last reference) must neither crash nor deadlock.
    @Test("a prefetcher released with a fill in flight is safe")
    func releasedMidEpoch() {
        let order = Array(0..<Self.images.count)
        for round in 0..<500 {
            var random: SeededGenerator? = SeededGenerator(seed: UInt64(round))
            BatchAssembler.skip(images: 0, random: &random)
            let prefetcher = BatchPrefetcher(images: Self.images, order: order, batchSize: 4, start: 0, random: random, shiftFill: .zero)
            for _ in 0..<(round % 3) { _ = prefetcher.next() }
        }
        let whole = BatchPrefetcher(images: Self.images, order: order, batchSize: 36, start: 0, random: nil, shiftFill: .zero)
        while whole.next() != nil {}
    }

    /// White images (every pixel 255, input 1) shifted by the augmentation: every input value is 1 or the fill, and
    /// the shifts of 37 images uncover some pixels. [L] fills with 0 (mid-grey); black is -1.
    @Test("a shift fills the pixels it uncovers with the chosen fill", arguments: [(ShiftFill.zero, Float(0)), (.black, -1)])
    func shiftFill(fill: ShiftFill, value: Float) {
        let white = LabeledImages(pixels: [UInt8](repeating: 255, count: Self.images.count * CIFAR10.pixelsPerImage),
                                  labels: Self.images.labels)
        var random: SeededGenerator? = SeededGenerator(seed: 9)
        var input = [Float](repeating: .nan, count: white.count * CIFAR10.pixelsPerImage)
        var labels = [Int32](repeating: 0, count: white.count)
        input.withUnsafeMutableBufferPointer { input in
            labels.withUnsafeMutableBufferPointer { labels in
                BatchAssembler(shiftFill: fill).fill(input: input.baseAddress!, labels: labels.baseAddress!, from: white,
                                                     indices: 0..<white.count, random: &random)
            }
        }
        #expect(input.allSatisfy { $0 == 1 || $0 == value })
        let filled = input.filter { $0 == value }.count
        #expect(filled > 0 && filled < input.count / 2, "\(filled) filled values")
        #expect(fill.inputValue == value)
    }
}

import Analysis
import Testing

@Suite("Field accumulation against a naive loop")
struct FieldAccumulatorTests {
    @Test("3 labels, 4 filters, 3x3, 25 images in 3 batches")
    func matchesNaiveLoop() {
        let (labels, channels, height, width) = (3, 4, 3, 3)
        let plane = height * width
        var random = SeededValues(seed: 7)
        let weights = random.values(labels * channels * plane)
        let batches = [10, 10, 5]
        let activations = batches.map { random.values($0 * channels * plane).map { max($0, 0) } }
        let trueLabels = batches.map { random.labels($0, labelCount: labels) }

        let accumulator = FieldAccumulator(weights: weights, labelCount: labels, channels: channels,
                                           height: height, width: width)
        for (a, y) in zip(activations, trueLabels) { accumulator.add(activations: a, labels: y) }
        #expect(accumulator.imageCount == 25)

        let allActivations = activations.flatMap { $0 }
        let allLabels = trueLabels.flatMap { $0 }
        var sums = [Double](repeating: 0, count: channels * labels * labels)
        var counts = [Int](repeating: 0, count: labels)
        for (k, label) in allLabels.enumerated() {
            counts[Int(label)] += 1
            for f in 0..<channels {
                for j in 0..<labels {
                    var field = 0.0
                    for p in 0..<plane {
                        field += Double(weights[(j * channels + f) * plane + p])
                            * Double(allActivations[(k * channels + f) * plane + p])
                    }
                    sums[(f * labels + Int(label)) * labels + j] += field
                }
            }
        }
        #expect(accumulator.countsPerLabel == counts)
        let raw = accumulator.rawMatrices()
        #expect(raw.count == channels)
        for f in 0..<channels {
            for i in 0..<labels {
                for j in 0..<labels {
                    let expected = counts[i] > 0 ? sums[(f * labels + i) * labels + j] / Double(counts[i]) : 0
                    #expect(isClose(raw[f][i, j], expected, scale: 1), "filter \(f), (\(i), \(j))")
                }
            }
        }
    }

    @Test("a label without images gives a zero row")
    func missingLabel() {
        let accumulator = FieldAccumulator(weights: [1, 2, 3, 4], labelCount: 2, channels: 1, height: 1, width: 2)
        accumulator.add(activations: [1, 1, 3, 1], labels: [0, 0])
        // fields: image 1 -> (1 + 2, 3 + 4) = (3, 7); image 2 -> (3 + 2, 9 + 4) = (5, 13); mean (4, 10).
        #expect(accumulator.rawMatrices() == [FilterLabelMatrix(rows: [[4, 10], [0, 0]])])
    }
}

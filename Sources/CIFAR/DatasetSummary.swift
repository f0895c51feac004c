/// Counts per label and pixel statistics per channel of a set of images (what `data check` prints).
public struct DatasetSummary: Sendable {
    /// Images per label, index = label.
    public let countsPerLabel: [Int]
    /// Mean pixel value per channel (R, G, B), in 0...255.
    public let channelMeans: [Double]
    /// Standard deviation of pixel values per channel, in 0...255.
    public let channelStandardDeviations: [Double]

    /// Summarises `images`, whose labels lie in 0 ..< `labelCount`.
    public init(_ images: LabeledImages, labelCount: Int = CIFAR10.labelCount) {
        var counts = [Int](repeating: 0, count: max(labelCount, Int(images.labels.max() ?? 0) + 1))
        for label in images.labels { counts[Int(label)] += 1 }
        countsPerLabel = counts
        let plane = LabeledImages.geometry.side * LabeledImages.geometry.side
        var sums = [Double](repeating: 0, count: 3)
        var squares = [Double](repeating: 0, count: 3)
        images.pixels.withUnsafeBufferPointer { pixels in
            for image in 0..<images.count {
                for channel in 0..<3 {
                    var sum = 0, square = 0
                    let base = image * LabeledImages.pixelsPerImage + channel * plane
                    for offset in 0..<plane {
                        let value = Int(pixels[base + offset])
                        sum += value
                        square += value * value
                    }
                    sums[channel] += Double(sum)
                    squares[channel] += Double(square)
                }
            }
        }
        let n = Double(max(images.count * plane, 1))
        channelMeans = sums.map { $0 / n }
        channelStandardDeviations = zip(sums, squares).map { sum, square in
            let mean = sum / n
            return (max(square / n - mean * mean, 0)).squareRoot()
        }
    }
}

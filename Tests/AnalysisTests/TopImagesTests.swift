import Analysis
import RunStore
import Testing

@Suite("Top images per filter")
struct TopImagesTests {
    @Test("the k images of largest spatial mean, whatever the batches; ties go to the earlier image")
    func ranking() {
        let (channels, height, width, k) = (3, 2, 2, 4)
        let plane = height * width
        var random = SeededValues(seed: 11)
        let images = 23
        var values = random.values(images * channels * plane).map { max($0, 0) }
        for p in 0..<plane { values[(5 * channels + 1) * plane + p] = 0.75; values[(9 * channels + 1) * plane + p] = 0.75 }   // a tie
        let labels = random.labels(images, labelCount: 5)
        var records = [TopImageRecord]()   // Equatable: no NaN padding here, every filter sees 23 images
        for batch in [1, 7, 23] {
            let top = TopImagesAccumulator(channels: channels, height: height, width: width, count: k)
            var start = 0
            while start < images {
                let count = min(batch, images - start)
                top.add(activations: Array(values[(start * channels * plane)..<((start + count) * channels * plane)]),
                        labels: Array(labels[start..<(start + count)]), firstImage: start)
                start += count
            }
            records.append(top.record)
        }
        #expect(records[0] == records[1] && records[1] == records[2], "the batches do not change the ranking")
        for f in 0..<channels {
            let means = (0..<images).map { image in (0..<plane).reduce(0.0) { $0 + Double(values[(image * channels + f) * plane + $1]) } / Double(plane) }
            let expected = (0..<images).sorted { means[$0] != means[$1] ? means[$0] > means[$1] : $0 < $1 }.prefix(k)
            #expect(Array(records[0].indices[(f * k)..<((f + 1) * k)]) == expected.map { Int64($0) }, "filter \(f)")
            #expect(Array(records[0].labels[(f * k)..<((f + 1) * k)]) == expected.map { labels[$0] })
        }
        let tied = Array(records[0].indices[k..<(2 * k)])
        if let five = tied.firstIndex(of: 5), let nine = tied.firstIndex(of: 9) { #expect(five < nine, "image 5 before image 9") }
    }

    @Test("a filter that saw fewer than k images is padded with -1 and NaN")
    func padding() {
        let top = TopImagesAccumulator(channels: 1, height: 1, width: 2, count: 3)
        top.add(activations: [1, 3, 2, 2], labels: [4, 1], firstImage: 7)
        let record = top.record
        #expect(record.indices == [7, 8, -1] && record.labels == [4, 1, -1])
        #expect(record.values[0] == 2 && record.values[1] == 2 && record.values[2].isNaN)
        #expect(record.images(filter: 0).map(\.index) == [7, 8], "ties: the earlier image first; no padding")
    }
}

import Analysis
import RunStore
import Testing

@Suite("Analysis benchmark")
struct AnalysisBenchmarkTests {
    @Test("counts, FLOP and rates are consistent (a partial last batch included)")
    func countsAreConsistent() {
        let shapes = [BlockShape(channels: 4, height: 6, width: 6), BlockShape(channels: 8, height: 3, width: 3)]
        let result = AnalysisBenchmark.run(shapes: shapes, labelCount: 5, images: 250, batchSize: 100,
                                           warmup: 1, iterations: 3, seed: 9)
        #expect(result.images == 250)
        #expect(result.layers.map(\.layer) == [1, 2])
        #expect(result.layers.map(\.shape) == shapes)
        for layer in result.layers {
            #expect(layer.imagesAccumulated == 250, "every image of every batch reaches the accumulator")
            #expect(layer.filtersAnalyzed == layer.shape.channels)
            #expect(layer.accumulationSeconds.count == 3 && layer.matricesSeconds.count == 3 && layer.topImagesSeconds.count == 3)
            #expect((layer.accumulationSeconds + layer.matricesSeconds).allSatisfy { $0 > 0 })
            #expect(layer.flopsPerImage == Double(2 * 5 * layer.shape.count))
            #expect(isClose(layer.imagesPerSecond, 250 / layer.seconds))
            #expect(isClose(layer.gflops, layer.imagesPerSecond * layer.flopsPerImage / 1e9))
            #expect(layer.seconds >= AnalysisBenchmark.median(layer.accumulationSeconds))
        }
        // All layers one after the other are slower than the slowest alone.
        #expect(isClose(result.imagesPerSecond, 250 / (result.layers[0].seconds + result.layers[1].seconds)))
        #expect(result.imagesPerSecond < result.layers.map(\.imagesPerSecond).min()!)
        #expect(result.gflops > 0 && result.gflops.isFinite)
    }

    @Test("median of odd, even and empty samples")
    func median() {
        #expect(AnalysisBenchmark.median([3, 1, 2]) == 2)
        #expect(AnalysisBenchmark.median([4, 1, 3, 2]) == 2.5)
        #expect(AnalysisBenchmark.median([]).isNaN)
    }
}

import Engine
import Testing
import Training

@Suite("Engine benchmark")
struct EngineBenchmarkTests {
    /// Two convolution blocks, a hidden FC layer and the label layer: 5 stages with the loss.
    static let notation = "8 M 16 M"
    static let head = [12]

    @Test("the benchmark's per-layer medians, SGD, remainder and batch assembly")
    func benchmarkPerLayer() throws {
        let architecture = try Architecture(notation: Self.notation, hiddenWidths: Self.head)
        // Batch 32 and 5 steps: with Winograd the tiny network's step is short enough at batch 8 for a loaded
        // machine's noise to swing the medians of the parts against the median of the whole.
        let iterations = 5
        let result = EngineBenchmark.run(architecture: architecture, batch: 32, warmup: 1, iterations: iterations)
        #expect(result.layerTimings.count == iterations)
        #expect(result.optimizerSeconds.count == iterations && result.assemblySeconds.count == iterations)
        let layers = result.layerTimes
        #expect(layers.map(\.name) == ["conv1", "conv2", "fc1", "fc2", "loss"])
        for layer in layers {
            #expect(layer.forwardSeconds >= 0 && layer.backwardSeconds >= 0, "\(layer.name)")
            #expect(layer.shareOfStep >= 0 && layer.shareOfStep <= 1, "\(layer.name)")
        }
        // Within each step the stages and the SGD update are timed inside the step's own clock readings, so they add
        // up to at most the step, and to most of it (only the clock reads and the loop are outside): exact per step,
        // whatever else the machine runs. (The medians of the parts against the median of the steps are not: a busy
        // machine swings one step's parts and another's whole.)
        for (step, timings) in result.layerTimings.enumerated() {
            let attributed = timings.totalSeconds + result.optimizerSeconds[step]
            #expect(attributed <= result.trainSeconds[step], "step \(step): \(attributed) s of \(result.trainSeconds[step]) s")
            #expect(attributed > 0.5 * result.trainSeconds[step], "step \(step): \(attributed) s of \(result.trainSeconds[step]) s")
        }
        #expect(result.optimizerStepSeconds > 0 && result.optimizerStepSeconds < result.trainStepSeconds)
        #expect(result.unattributedSeconds >= 0 && result.unattributedSeconds < 0.1 * result.trainStepSeconds)
        #expect(result.assemblySeconds.allSatisfy { $0 > 0 })
        #expect(result.assemblyShare > 0 && result.assemblyShare < 1)
    }
}

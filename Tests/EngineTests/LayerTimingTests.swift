import Dispatch
import Engine
import Testing

@Suite("Per-layer timing")
struct LayerTimingTests {
    /// Two convolution blocks, a hidden FC layer and the label layer: 5 stages with the loss.
    static let notation = "8 M 16 M"
    static let head = [12]

    @Test("one stage per block, FC layer and the loss; each timed, summing to no more than the step")
    func stagesCoverTheStep() throws {
        let architecture = try Architecture(notation: Self.notation, hiddenWidths: Self.head)
        let batch = 8
        let network = Network(architecture: architecture, maxBatch: batch, seed: 1)
        var random = TestRandom(seed: 2)
        let input = random.uniform(batch * 3 * 32 * 32)
        let labels = random.labels(batch, classes: 10)
        network.timings = LayerTimings(architecture: architecture)
        #expect(network.timings?.stageNames == ["conv1", "conv2", "fc1", "fc2", "loss"])
        #expect(network.timings?.stageKinds == [.convolutionBlock, .convolutionBlock, .fullyConnected, .fullyConnected, .loss])

        for _ in 0..<3 {
            let start = DispatchTime.now().uptimeNanoseconds
            network.forward(input, batch: batch, mode: .training)
            network.backward(labels: labels)
            let step = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            let timings = try #require(network.timings)
            #expect(timings.forwardSeconds.count == 5 && timings.backwardSeconds.count == 5)
            #expect((timings.forwardSeconds + timings.backwardSeconds).allSatisfy { $0 >= 0 && $0.isFinite })
            for block in 0..<2 {
                #expect(timings.forwardSeconds[block] > 0 && timings.backwardSeconds[block] > 0, "conv\(block + 1)")
            }
            #expect(timings.forwardSeconds[timings.lossStage] == 0, "the loss is fused into the backward")
            #expect(timings.backwardSeconds[timings.lossStage] > 0)
            // The stages are laps of one clock inside the step: their sum cannot exceed it (slack for rounding).
            #expect(timings.totalSeconds <= step * 1.01 + 1e-6, "stages \(timings.totalSeconds) s, step \(step) s")
            #expect(timings.totalSeconds >= step * 0.5, "the stages account for most of the step")
        }
    }

    @Test("timing is off by default and does not change any result")
    func timingChangesNothing() throws {
        let architecture = try Architecture(notation: Self.notation, hiddenWidths: Self.head)
        let batch = 4
        let plain = Network(architecture: architecture, maxBatch: batch, seed: 5)
        let timed = Network(architecture: architecture, maxBatch: batch, seed: 5)
        #expect(plain.timings == nil)
        timed.timings = LayerTimings(architecture: architecture)
        var random = TestRandom(seed: 6)
        let input = random.uniform(batch * 3 * 32 * 32)
        let labels = random.labels(batch, classes: 10)
        let logits = Array(plain.forward(input, batch: batch, mode: .training))
        let timedLogits = Array(timed.forward(input, batch: batch, mode: .training))
        #expect(logits == timedLogits)
        #expect(plain.backward(labels: labels) == timed.backward(labels: labels))
        #expect(plain.gradients.buffer.array == timed.gradients.buffer.array)
        #expect(plain.timings == nil, "nothing is recorded unless asked")
        timed.timings = nil
        timed.forward(input, batch: batch, mode: .inference)
        #expect(timed.timings == nil)
    }
}

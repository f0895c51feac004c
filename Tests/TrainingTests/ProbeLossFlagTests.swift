import RunStore
import Testing
import Training

@Suite("probe loss flags")
struct ProbeLossFlagTests {
    private func epochs(_ losses: [Double]) -> [ProbeEpoch] {
        losses.enumerated().map { ProbeEpoch(epoch: $0.offset + 1, trainLoss: $0.element, testSR: 0.5) }
    }

    @Test("settled, rising, high, not finite, not trained")
    func flags() {
        #expect(Prober.lossFlag(epochs([1.2, 0.8]), labelCount: 10) == "ok")
        #expect(Prober.lossFlag(epochs([0.8, 0.9]), labelCount: 10) == "loss rising")
        #expect(Prober.lossFlag(epochs([3.0, 2.5]), labelCount: 10) == "loss high", "above ln 10 = 2.30")
        #expect(Prober.lossFlag(epochs([0.8, .nan]), labelCount: 10) == "loss not finite", "NaN compares false to everything")
        #expect(Prober.lossFlag(epochs([0.8, .infinity]), labelCount: 10) == "loss not finite")
        #expect(Prober.lossFlag([], labelCount: 10) == "not trained")
    }
}

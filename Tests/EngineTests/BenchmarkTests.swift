import BLAS
import Engine
import Foundation
import Testing

/// Training throughput of VGG-6 at batch 100 (forward + backward + SGD), printed in images/s. Off by default;
/// run with FILTERLENS_BENCHMARK=1 swift test -c release --filter BenchmarkTests.
@Suite("Benchmark", .enabled(if: ProcessInfo.processInfo.environment["FILTERLENS_BENCHMARK"] != nil))
struct BenchmarkTests {
    @Test("VGG-6 training step throughput")
    func vgg6TrainingThroughput() throws {
        let batch = 100
        let network = Network(architecture: try Architecture.preset("vgg6"), maxBatch: batch, seed: 1)
        var random = TestRandom(seed: 2)
        let input = random.uniform(batch * 3 * 32 * 32)
        let labels = random.labels(batch, classes: 10)
        var optimizer = SGD(parameterCount: network.parameters.count, momentum: 0.9, weightDecay: 5e-4)
        func step() -> Float {
            network.forward(input, batch: batch, mode: .training)
            let loss = network.backward(labels: labels)
            optimizer.step(parameters: network.parameters.buffer, gradients: network.gradients.buffer, learningRate: 0.01)
            return loss
        }
        _ = step()
        let steps = Int(ProcessInfo.processInfo.environment["FILTERLENS_BENCHMARK_STEPS"] ?? "") ?? 5
        let clock = ContinuousClock()
        var loss: Float = 0
        let elapsed = clock.measure { for _ in 0..<steps { loss = step() } }
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
        let rate = Double(steps * batch) / seconds
        print("VGG-6 batch \(batch): \(String(format: "%.1f", rate)) img/s training (\(steps) steps, "
              + "BLAS \(BLAS.coreName) x\(BLAS.threadCount), loss \(loss))")
        #expect(rate > 0 && loss.isFinite)
    }
}

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
        if let threads = Int(ProcessInfo.processInfo.environment["FILTERLENS_SWIFT_THREADS"] ?? "") {
            Parallel.threadCount = threads
        }
        let budget = Int(ProcessInfo.processInfo.environment["FILTERLENS_COL_BUDGET"] ?? "") ?? Network.defaultColBudget
        let network = Network(architecture: try Architecture.preset("vgg6"), maxBatch: batch, seed: 1, colBudget: budget)
        var random = TestRandom(seed: 2)
        let input = random.uniform(batch * 3 * 32 * 32)
        let labels = random.labels(batch, classes: 10)
        var optimizer = SGD(parameterCount: network.parameters.count, momentum: 0.9, weightDecay: 5e-4)
        func step() -> Float {
            network.forward(input, batch: batch, mode: .training)
            let loss = network.backward(labels: labels).loss
            optimizer.step(parameters: network.parameters.buffer, gradients: network.gradients.buffer, learningRate: 0.01)
            return loss
        }
        _ = step()
        let steps = Int(ProcessInfo.processInfo.environment["FILTERLENS_BENCHMARK_STEPS"] ?? "") ?? 5
        let timer = ContinuousClock()
        var loss: Float = 0
        var seconds: [Double] = []
        let cpuStart = clock_t(clock())
        for _ in 0..<steps {
            let elapsed = timer.measure { loss = step() }
            seconds.append(Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18)
        }
        let cpuPerStep = Double(clock_t(clock()) - cpuStart) / Double(CLOCKS_PER_SEC) / Double(steps)
        seconds.sort()
        let rate = Double(batch) / seconds[steps / 2], best = Double(batch) / seconds[0]
        print("VGG-6 batch \(batch): \(String(format: "%.1f", rate)) img/s training (median of \(steps) steps; best "
              + "\(String(format: "%.1f", best)); CPU \(String(format: "%.2f", cpuPerStep)) s/step; "
              + "BLAS \(BLAS.coreName) x\(BLAS.threadCount), Swift loops x\(Parallel.threadCount), im2col budget \(budget), loss \(loss))")
        #expect(rate > 0 && loss.isFinite)
    }
}

import Engine
import Tensor
import Testing

@Suite("Network")
struct NetworkTests {
    @Test("parameter names, shapes and initialisation")
    func parameterLayout() throws {
        let architecture = try Architecture(notation: "8 M 16 M", hiddenWidths: [32])
        let network = Network(architecture: architecture, maxBatch: 2, seed: 3)
        #expect(network.parameters.views.map(\.name) == [
            "conv1.weight", "conv1.bn.weight", "conv1.bn.bias", "conv2.weight", "conv2.bn.weight", "conv2.bn.bias",
            "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias",
        ])
        #expect(network.parameters.view(named: "conv2.weight")?.shape == [16, 8, 3, 3])
        #expect(network.parameters.view(named: "fc1.weight")?.shape == [32, 16 * 8 * 8])
        #expect(network.parameters.view(named: "fc2.weight")?.shape == [10, 32])
        #expect(network.parameters.view(named: "nope") == nil)
        #expect(network.statistics.views.map(\.name) == [
            "conv1.bn.running_mean", "conv1.bn.running_var", "conv2.bn.running_mean", "conv2.bn.running_var",
        ])
        #expect(network.gradients.views == network.parameters.views)
        // PyTorch's default (the default): uniform in +-1/sqrt(8 * 9), std 1/sqrt(3 * 72) = 0.068 for conv2; He
        // normal (fan_in): std sqrt(2 / 72) = 0.167.
        func spread(_ network: Network) -> Double {
            let weight = Array(network.parameters["conv2.weight"])
            return (weight.map { Double($0 * $0) }.reduce(0, +) / Double(weight.count)).squareRoot()
        }
        #expect(abs(spread(network) - (1.0 / 216).squareRoot()) < 0.01)
        #expect(network.parameters["conv2.weight"].allSatisfy { abs($0) <= 1 / Float(72).squareRoot() })
        let he = Network(architecture: architecture, maxBatch: 2, seed: 3, convolutionInitialization: .heNormal)
        #expect(abs(spread(he) - (2.0 / 72).squareRoot()) < 0.02)
        #expect(network.parameters["conv1.bn.weight"].allSatisfy { $0 == 1 })
        #expect(network.statistics["conv1.bn.running_var"].allSatisfy { $0 == 1 })
        let again = Network(architecture: architecture, maxBatch: 2, seed: 3)
        #expect(again.parameters.buffer.array == network.parameters.buffer.array, "same seed, same weights")
    }

    @Test("block outputs are N x C x H x W and the last one feeds the head")
    func blockOutputs() throws {
        let architecture = try Architecture.preset("vgg6")
        let network = Network(architecture: architecture, maxBatch: 2, seed: 1)
        var random = TestRandom(seed: 8)
        let input = random.uniform(2 * 3 * 32 * 32)
        let logits = Array(network.forward(input, batch: 2, mode: .inference))
        #expect(logits.count == 20 && logits.allSatisfy(\.isFinite))
        for l in 1...6 {
            let shape = architecture.blockOutputShape(layer: l)
            #expect(network.blockOutput(layer: l).count == 2 * shape.channels * shape.height * shape.width)
        }
        #expect(network.blockOutput(layer: 1).allSatisfy { $0 >= 0 }, "after ReLU")
        // logits = flatten(block 6 output, N x C*H*W) * fc1.weight^T + fc1.bias
        let features = network.blockOutput(layer: 6)
        let weight = network.parameters["fc1.weight"], bias = network.parameters["fc1.bias"]
        let d = 256 * 4 * 4
        for n in 0..<2 {
            for j in 0..<10 {
                var sum = Double(bias[j])
                for i in 0..<d { sum += Double(features[n * d + i]) * Double(weight[j * d + i]) }
                #expect(abs(sum - Double(logits[n * 10 + j])) < 1e-3)
            }
        }
    }

    @Test("whole-network gradients against finite differences (sampled parameters)")
    func networkGradients() throws {
        let architecture = try Architecture(notation: "4 M 6 M4", hiddenWidths: [5], labelCount: 3, imageSize: 8)
        let network = Network(architecture: architecture, maxBatch: 3, seed: 11)
        var random = TestRandom(seed: 12)
        let input = random.uniform(3 * 3 * 8 * 8)
        let labels: [Int32] = [0, 2, 1]
        network.forward(input, batch: 3, mode: .training)
        _ = network.backward(labels: labels)
        let analytic = network.gradients.buffer.array
        func loss() -> Double {
            network.forward(input, batch: 3, mode: .training)
            return Double(network.evaluate(labels: labels).loss)
        }
        var checked = 0, agreeing = 0
        for view in network.parameters.views {
            for k in stride(from: 0, to: view.count, by: max(1, view.count / 6)) {
                let index = view.offset + k
                let numeric = numericDerivative(network.parameters.buffer.pointer, index, epsilon: 1e-2, loss)
                checked += 1
                if close(analytic[index], numeric, atol: 2e-3, rtol: 2e-2) { agreeing += 1 }
            }
        }
        // A finite difference can straddle a ReLU or max-pool kink; allow for one such element at most.
        #expect(checked >= 50)
        #expect(agreeing >= checked - 1, "\(agreeing) of \(checked) gradients agree")
    }

    @Test("backward overwrites rather than accumulates")
    func backwardOverwrites() throws {
        let network = Network(architecture: try Architecture.preset("tiny"), maxBatch: 2, seed: 5)
        var random = TestRandom(seed: 6)
        let input = random.uniform(2 * 3 * 32 * 32)
        let labels: [Int32] = [1, 7]
        network.forward(input, batch: 2, mode: .training)
        let first = network.backward(labels: labels).loss
        let gradients = network.gradients.buffer.array
        network.forward(input, batch: 2, mode: .training)
        let second = network.backward(labels: labels).loss
        #expect(first == second)
        #expect(maxAbsDifference(network.gradients.buffer.array, gradients) < 1e-6)
    }

    @Test("the tiny network learns a fixed synthetic batch within 50 steps")
    func tinyNetworkLearns() throws {
        let batch = 20
        let network = Network(architecture: try Architecture.preset("tiny"), maxBatch: batch, seed: 21)
        var random = TestRandom(seed: 22)
        let input = random.uniform(batch * 3 * 32 * 32)
        let labels = random.labels(batch, classes: 10)
        var optimizer = SGD(parameterCount: network.parameters.count, momentum: 0.9, weightDecay: 5e-4)
        var losses: [Float] = []
        for _ in 0..<50 {
            network.forward(input, batch: batch, mode: .training)
            losses.append(network.backward(labels: labels).loss)
            optimizer.step(parameters: network.parameters.buffer, gradients: network.gradients.buffer, learningRate: 0.02)
        }
        #expect(losses[0] > 1.5)
        #expect(losses.last! < losses[0] * 0.2, "losses \(losses.first!) -> \(losses.last!)")
        network.forward(input, batch: batch, mode: .training)
        #expect(network.evaluate(labels: labels).correct == batch)
    }
}

@Suite("network memory")
struct NetworkMemoryTests {
    @Test("the bytes a batch needs grow with the batch, and the largest batch that fits is the one whose bytes fit")
    func bytesNeeded() throws {
        let architecture = try Architecture(notation: "64 64 M 128 128 M 256 256 M", labelCount: 10)
        let one = Network.bytesNeeded(architecture: architecture, maxBatch: 1)
        let hundred = Network.bytesNeeded(architecture: architecture, maxBatch: 100)
        let twoHundred = Network.bytesNeeded(architecture: architecture, maxBatch: 200)
        #expect(one < hundred && hundred < twoHundred)
        // VGG-6's first block alone holds 64 x 32 x 32 floats per image three times (conv, batch norm + ReLU, output
        // in N x C x H x W) and the pooled quarter with its argmax: at least 1.3 MB per image.
        #expect(Double(twoHundred - hundred) / 100 > 1.3e6)
        for batch in [1, 37, 100, 256] {
            let bytes = Network.bytesNeeded(architecture: architecture, maxBatch: batch)
            #expect(Network.largestBatch(architecture: architecture, fitting: bytes, upTo: 1000) == batch)
        }
        #expect(Network.largestBatch(architecture: architecture, fitting: one - 1, upTo: 1000) == 0)
        #expect(Network.bytesNeeded(architecture: architecture, maxBatch: 100, training: false) < hundred)
    }
}

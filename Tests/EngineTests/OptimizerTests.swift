import Engine
import Tensor
import Testing

@Suite("SGD and the linear probe head")
struct OptimizerTests {
    @Test("Nesterov SGD matches hand-computed PyTorch numbers over two steps")
    func nesterovSteps() {
        let parameters = FloatBuffer([1, -2])
        let gradients = FloatBuffer([0.5, 0.25])
        var optimizer = SGD(parameterCount: 2, momentum: 0.9, weightDecay: 0.01, nesterov: true)
        optimizer.step(parameters: parameters, gradients: gradients, learningRate: 0.1)
        // g = grad + 0.01 p = (0.51, 0.23); v = g; p -= 0.1 (g + 0.9 v)
        #expect(abs(parameters[0] - 0.9031) < 1e-6 && abs(parameters[1] - -2.0437) < 1e-6)
        #expect(abs(optimizer.velocity[0] - 0.51) < 1e-6 && abs(optimizer.velocity[1] - 0.23) < 1e-6)
        optimizer.step(parameters: parameters, gradients: gradients, learningRate: 0.1)
        // g = (0.509031, 0.229563); v = 0.9 v + g = (0.968031, 0.436563); p -= 0.1 (g + 0.9 v)
        #expect(abs(parameters[0] - 0.76507411) < 1e-6 && abs(parameters[1] - -2.10594697) < 1e-6)
        #expect(abs(optimizer.velocity[0] - 0.968031) < 1e-6 && abs(optimizer.velocity[1] - 0.436563) < 1e-6)
        #expect(gradients.array == [0.5, 0.25], "the gradients are left as they were")
    }

    @Test("plain momentum SGD: p -= lr * v")
    func plainMomentum() {
        let parameters = FloatBuffer([1])
        let gradients = FloatBuffer([0.5])
        var optimizer = SGD(parameterCount: 1, momentum: 0.9, weightDecay: 0.01, nesterov: false)
        optimizer.step(parameters: parameters, gradients: gradients, learningRate: 0.1)
        #expect(abs(parameters[0] - 0.949) < 1e-6)
        optimizer.step(parameters: parameters, gradients: gradients, learningRate: 0.1)
        // g = 0.5 + 0.00949; v = 0.459 + 0.50949 = 0.96849
        #expect(abs(parameters[0] - (0.949 - 0.096849)) < 1e-6)
    }

    @Test("the linear head learns separable features and counts correct samples")
    func linearHeadLearns() {
        let (n, d, labels) = (30, 8, 3)
        var random = TestRandom(seed: 7)
        let targets = random.labels(n, classes: labels)
        var features = random.uniform(n * d, -0.5, 0.5)
        for i in 0..<n { features[i * d + Int(targets[i])] += 2 }   // label j lights feature j
        let head = LinearHead(inputSize: d, labelCount: labels, maxBatch: n, seed: 1)
        let bound = 1 / Float(d).squareRoot()
        #expect(head.weight.array.allSatisfy { abs($0) <= bound })
        var optimizer = SGD(parameterCount: labels * d, momentum: 0.9, weightDecay: 1e-3)
        // forward, backward, update (the optimizer's), as every caller does.
        func step() -> Float {
            _ = head.forward(features: features, batch: n)
            let loss = head.backward(features: features, labels: targets, batch: n).loss
            optimizer.step(parameters: head.weight, gradients: head.gradient, learningRate: 0.1)
            return loss
        }
        let first = step()
        var last = first
        for _ in 0..<40 { last = step() }
        #expect(last < first * 0.3)
        let result = head.evaluate(features: features, labels: targets, batch: n)
        #expect(result.correct == n)
        #expect(abs(result.loss - last) < last)
    }
}

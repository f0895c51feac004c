import Engine
import Testing

/// The engine against PyTorch on the fixture written by scripts/make_parity_fixture.py (PyTorch 2.13 CPU):
/// "8 M 16 16 M4" on 3x16x16, head [12], 10 labels, batch 4. Read from the raw parity.bin/parity.json copy (the
/// same tensors are in parity.h5). Observed differences are about 1e-7; the tolerances (2e-5 absolute, relative to
/// the largest gradient where that exceeds 1) leave room for other BLAS kernels' summation orders.
@Suite("PyTorch parity")
struct ParityTests {
    @Test("one training step, its SGD update and an eval forward match PyTorch")
    func parity() throws {
        let fixture = try ParityFixture()
        let index = fixture.index
        #expect(index.generator.hasPrefix("PyTorch"))
        let architecture = try Architecture(notation: index.notation, hiddenWidths: index.head, labelCount: index.labelCount,
                                            imageSize: index.imageSize)
        let network = Network(architecture: architecture, maxBatch: index.batch, seed: 0)
        for view in network.parameters.views {
            let values = fixture.floats("parameters/\(view.name)")
            #expect(values.count == view.count, "\(view.name)")
            _ = network.parameters[view.name].update(fromContentsOf: values)
        }
        for view in network.statistics.views {
            _ = network.statistics[view.name].update(fromContentsOf: fixture.floats("statistics_before/\(view.name)"))
        }
        let input = fixture.floats("input")
        let labels = fixture.ints("labels")

        let logits = Array(network.forward(input, batch: index.batch, mode: .training))
        #expect(maxAbsDifference(logits, fixture.floats("logits")) < 2e-5)
        let loss = network.backward(labels: labels).loss
        #expect(abs(loss - fixture.floats("loss")[0]) < 1e-5)
        for view in network.gradients.views {
            let expected = fixture.floats("gradients/\(view.name)")
            let scale = expected.map(abs).max()!
            let difference = maxAbsDifference(network.gradients[view.name], expected)
            #expect(difference <= 2e-5 * max(scale, 1), "gradient \(view.name): \(difference) (scale \(scale))")
        }
        for view in network.statistics.views {
            let difference = maxAbsDifference(network.statistics[view.name], fixture.floats("statistics/\(view.name)"))
            #expect(difference < 1e-5, "\(view.name)")
        }

        var optimizer = SGD(parameterCount: network.parameters.count, momentum: index.momentum,
                            weightDecay: index.weightDecay, nesterov: index.nesterov)
        optimizer.step(parameters: network.parameters.buffer, gradients: network.gradients.buffer,
                       learningRate: index.learningRate)
        for view in network.parameters.views {
            let difference = maxAbsDifference(network.parameters[view.name], fixture.floats("stepped/\(view.name)"))
            #expect(difference < 1e-5, "stepped \(view.name): \(difference)")
        }
        let evalLogits = Array(network.forward(input, batch: index.batch, mode: .inference))
        #expect(maxAbsDifference(evalLogits, fixture.floats("eval_logits")) < 2e-5)
    }

    /// The fixture's init/convL.weight are two fresh `nn.Conv2d` layers (3 -> 64 and 64 -> 128 filters, VGG-6's first
    /// two) under PyTorch's default initialization. The engine's "pytorch-default" draws the same distribution:
    /// inside the same bound +-1/sqrt(C*9), which PyTorch's draws nearly reach, with the same standard deviation; He
    /// normal has sqrt(6) = 2.45 times that spread.
    @Test("the engine's pytorch-default convolution initialization draws as nn.Conv2d's default does")
    func initialization() throws {
        let fixture = try ParityFixture()
        let architecture = try Architecture(notation: "64 128", labelCount: 10)
        let pytorchDefault = Network(architecture: architecture, maxBatch: 1, seed: 17, convolutionInitialization: .pytorchDefault)
        let heNormal = Network(architecture: architecture, maxBatch: 1, seed: 17, convolutionInitialization: .heNormal)
        func spread(_ values: some Collection<Float>) -> Double {
            let mean = values.reduce(0.0) { $0 + Double($1) } / Double(values.count)
            return (values.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / Double(values.count)).squareRoot()
        }
        for (layer, fanIn) in [(1, 3 * 9), (2, 64 * 9)] {
            let torch = fixture.floats("init/conv\(layer).weight")
            let engine = Array(pytorchDefault.parameters["conv\(layer).weight"])
            #expect(torch.count == engine.count, "conv\(layer): PyTorch's shape is the engine's")
            let bound = 1 / Float(fanIn).squareRoot()
            let torchLargest = torch.map(abs).max()!, engineLargest = engine.map(abs).max()!
            #expect(torchLargest <= bound && engineLargest <= bound, "conv\(layer): both inside +-1/sqrt(C*9)")
            #expect(torchLargest > 0.95 * bound && engineLargest > 0.95 * bound, "conv\(layer): both reach the bound")
            // Sample standard deviations of 1,728 and 73,728 draws: within 5% of each other (about 2% and 0.3% apart by chance).
            let ratio = spread(engine) / spread(torch)
            #expect(abs(ratio - 1) < 0.05, "conv\(layer): engine / PyTorch standard deviation \(ratio)")
            let heRatio = spread(heNormal.parameters["conv\(layer).weight"]) / spread(torch)
            #expect(abs(heRatio - 6.0.squareRoot()) < 0.15, "conv\(layer): He normal / PyTorch standard deviation \(heRatio)")
        }
    }
}

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
}

import Engine
import Tensor
import Testing

/// Each layer's backward against central finite differences of its forward (Float forward, Double loss
/// sum(R * output) with a fixed random R), on tiny shapes. Tolerance: atol + rtol * max(|analytic|, |numeric|).
@Suite("Layer gradients against finite differences")
struct LayerGradientTests {
    @Test("convolution forward matches a direct Double convolution, with and without chunking")
    func convolutionForward() {
        var random = TestRandom(seed: 1)
        let (c, f, n, h, w) = (2, 3, 3, 4, 5)
        var input = random.uniform(c * n * h * w)     // C x N x H x W
        var weight = random.uniform(f * c * 9)        // F x C x 3 x 3
        var reference = [Double](repeating: 0, count: f * n * h * w)
        for o in 0..<f { for b in 0..<n { for y in 0..<h { for x in 0..<w {
            var sum = 0.0
            for i in 0..<c { for ky in 0..<3 { for kx in 0..<3 {
                let sy = y + ky - 1, sx = x + kx - 1
                guard sy >= 0, sy < h, sx >= 0, sx < w else { continue }
                sum += Double(input[((i * n + b) * h + sy) * w + sx]) * Double(weight[((o * c + i) * 3 + ky) * 3 + kx])
            }}}
            reference[((o * n + b) * h + y) * w + x] = sum
        }}}}
        for capacity in [c * 9 * h * w, c * 9 * h * w * n] {   // one image per chunk, then the whole batch
            var output = [Float](repeating: .nan, count: f * n * h * w)
            var col = [Float](repeating: 0, count: capacity)
            Layers.convolutionForward(input: &input, weight: &weight, output: &output, channels: c, filters: f,
                                      batch: n, height: h, width: w, col: &col, colCapacity: capacity)
            let difference = zip(output, reference).map { abs(Double($0) - $1) }.max()!
            #expect(difference < 1e-5, "capacity \(capacity)")
        }
    }

    @Test("convolution backward: weight and input gradients")
    func convolutionBackward() {
        var random = TestRandom(seed: 2)
        let (c, f, n, h, w) = (2, 3, 2, 4, 5)
        let input = FloatBuffer(random.uniform(c * n * h * w))
        let weight = FloatBuffer(random.uniform(f * c * 9))
        let r = random.uniform(f * n * h * w)
        let capacity = c * 9 * h * w   // forces one image per chunk, so the chunked accumulation is exercised
        var output = [Float](repeating: 0, count: f * n * h * w)
        var col = [Float](repeating: 0, count: capacity)
        func loss() -> Double {
            Layers.convolutionForward(input: input.pointer, weight: weight.pointer, output: &output, channels: c,
                                      filters: f, batch: n, height: h, width: w, col: &col, colCapacity: capacity)
            return weightedSum(output, r)
        }
        var gradWeight = [Float](repeating: .nan, count: weight.count)
        var gradInput = [Float](repeating: .nan, count: input.count)
        Layers.convolutionBackward(input: input.pointer, weight: weight.pointer, gradOutput: r, gradWeight: &gradWeight,
                                   gradInput: &gradInput, channels: c, filters: f, batch: n, height: h, width: w,
                                   col: &col, colCapacity: capacity)
        for i in 0..<weight.count {
            let numeric = numericDerivative(weight.pointer, i, epsilon: 1e-2, loss)
            #expect(close(gradWeight[i], numeric, atol: 1e-3, rtol: 1e-3), "weight \(i)")
        }
        for i in 0..<input.count {
            let numeric = numericDerivative(input.pointer, i, epsilon: 1e-2, loss)
            #expect(close(gradInput[i], numeric, atol: 1e-3, rtol: 1e-3), "input \(i)")
        }
    }

    @Test("batch norm + ReLU backward (training): input, gamma and beta gradients")
    func batchNormReLUBackward() {
        let (c, m) = (3, 12)
        var random = TestRandom(seed: 3)
        let input = FloatBuffer(random.uniform(c * m, -2, 2))
        let gamma = FloatBuffer(random.uniform(c, 0.5, 1.5))
        let beta = FloatBuffer(random.uniform(c, -0.3, 0.3))
        let r = random.uniform(c * m)
        var output = [Float](repeating: 0, count: c * m)
        var mean = [Float](repeating: 0, count: c), inverseStd = [Float](repeating: 0, count: c)
        var runningMean = [Float](repeating: 0, count: c), runningVariance = [Float](repeating: 1, count: c)
        func loss() -> Double {
            Layers.batchNormReLUForward(input: input.pointer, output: &output, gamma: gamma.pointer,
                                        beta: beta.pointer, mean: &mean,
                                        inverseStd: &inverseStd, runningMean: &runningMean,
                                        runningVariance: &runningVariance, channels: c, count: m, training: true)
            return weightedSum(output, r)
        }
        // Keep every pre-activation away from ReLU's kink so that the finite differences stay on one side.
        _ = loss()
        for ch in 0..<c {
            for i in 0..<m {
                let pre = gamma[ch] * (input[ch * m + i] - mean[ch]) * inverseStd[ch] + beta[ch]
                if abs(pre) < 0.05 { input[ch * m + i] += 0.3 / inverseStd[ch] }
            }
        }
        _ = loss()
        #expect(output.contains(0) && output.contains { $0 > 0 }, "the ReLU must cut some values and pass others")
        var gradInput = [Float](repeating: .nan, count: c * m)
        var gradGamma = [Float](repeating: .nan, count: c), gradBeta = [Float](repeating: .nan, count: c)
        Layers.batchNormReLUBackward(input: input.pointer, output: output, gradOutput: r, gradInput: &gradInput,
                                     gamma: gamma.pointer, mean: mean, inverseStd: inverseStd,
                                     gradGamma: &gradGamma, gradBeta: &gradBeta, channels: c, count: m)
        for i in 0..<input.count {
            #expect(close(gradInput[i], numericDerivative(input.pointer, i, epsilon: 1e-3, loss), atol: 2e-3, rtol: 1e-2),
                    "input \(i)")
        }
        for i in 0..<c {
            #expect(close(gradGamma[i], numericDerivative(gamma.pointer, i, epsilon: 1e-3, loss), atol: 2e-3, rtol: 1e-2))
            #expect(close(gradBeta[i], numericDerivative(beta.pointer, i, epsilon: 1e-3, loss), atol: 2e-3, rtol: 1e-2))
        }
    }

    @Test("batch norm statistics: biased variance to normalise, running stats with momentum 0.1 and unbiased variance")
    func batchNormStatistics() {
        var input: [Float] = [1, 2, 3, 6]   // one channel: mean 3, biased var 3.5, unbiased var 14/3
        var output = [Float](repeating: 0, count: 4)
        var mean: [Float] = [0], inverseStd: [Float] = [0], runningMean: [Float] = [0], runningVariance: [Float] = [1]
        Layers.batchNormReLUForward(input: &input, output: &output, gamma: [2], beta: [0.5], mean: &mean,
                                    inverseStd: &inverseStd, runningMean: &runningMean,
                                    runningVariance: &runningVariance, channels: 1, count: 4, training: true)
        #expect(abs(mean[0] - 3) < 1e-6)
        #expect(abs(inverseStd[0] - 1 / (3.5 + 1e-5).squareRoot()) < 1e-6)
        #expect(abs(runningMean[0] - 0.3) < 1e-6)
        #expect(abs(runningVariance[0] - (0.9 + 0.1 * 14 / 3)) < 1e-6)
        let expected = input.map { max(0, 2 * ($0 - 3) / (3.5 + 1e-5).squareRoot() + 0.5) }
        #expect(maxAbsDifference(output, expected) < 1e-5)
        // Inference normalises with the running statistics and leaves them alone.
        Layers.batchNormReLUForward(input: &input, output: &output, gamma: [2], beta: [0.5], mean: &mean,
                                    inverseStd: &inverseStd, runningMean: &runningMean,
                                    runningVariance: &runningVariance, channels: 1, count: 4, training: false)
        let variance = Float(0.9 + 0.1 * 14 / 3)
        let inferred = input.map { max(0, 2 * ($0 - 0.3) / (variance + 1e-5).squareRoot() + 0.5) }
        #expect(maxAbsDifference(output, inferred) < 1e-5)
        #expect(abs(runningMean[0] - 0.3) < 1e-6)
    }

    @Test("max-pool forward and backward", arguments: [2, 4])
    func maxPool(size: Int) {
        let (planes, side) = (3, 8)
        var random = TestRandom(seed: UInt64(10 + size))
        // Distinct values at least 0.1 apart, so a small perturbation never changes a window's argmax.
        var order = Array(0..<(planes * side * side))
        order.shuffle(using: &random.generator)
        let input = FloatBuffer(order.map { Float($0) * 0.1 - 5 })
        let outSide = side / size
        let r = random.uniform(planes * outSide * outSide)
        var output = [Float](repeating: 0, count: r.count)
        var argmax = [Int32](repeating: -1, count: r.count)
        func loss() -> Double {
            Layers.maxPoolForward(input: input.pointer, output: &output, argmax: &argmax, planes: planes, height: side,
                                  width: side, size: size)
            return weightedSum(output, r)
        }
        _ = loss()
        for p in 0..<planes {
            for oh in 0..<outSide { for ow in 0..<outSide {
                var best = -Float.infinity
                for i in 0..<size { for j in 0..<size {
                    best = max(best, input[p * side * side + (oh * size + i) * side + ow * size + j])
                }}
                #expect(output[(p * outSide + oh) * outSide + ow] == best)
            }}
        }
        var gradInput = [Float](repeating: .nan, count: input.count)
        Layers.maxPoolBackward(gradOutput: r, argmax: argmax, gradInput: &gradInput, planes: planes, height: side,
                               width: side, size: size)
        for i in 0..<input.count {
            #expect(close(gradInput[i], numericDerivative(input.pointer, i, epsilon: 1e-2, loss), atol: 1e-3, rtol: 1e-3))
        }
    }

    @Test("max-pool ties go to the first maximum in scan order")
    func maxPoolTies() {
        var output: [Float] = [0], argmax: [Int32] = [-1]
        Layers.maxPoolForward(input: [0, 1, 1, 0], output: &output, argmax: &argmax, planes: 1, height: 2, width: 2,
                              size: 2)
        #expect(output == [1] && argmax == [1])
        Layers.maxPoolForward(input: [1, .nan, 3, 0], output: &output, argmax: &argmax, planes: 1, height: 2, width: 2,
                              size: 2)
        #expect(output[0].isNaN && argmax == [1], "a NaN wins its window, as in PyTorch")
    }

    @Test("fully connected backward: weight, bias and input gradients")
    func fullyConnected() {
        let (n, i, o) = (3, 5, 4)
        var random = TestRandom(seed: 4)
        let input = FloatBuffer(random.uniform(n * i)), weight = FloatBuffer(random.uniform(o * i))
        let bias = FloatBuffer(random.uniform(o))
        let r = random.uniform(n * o)
        var output = [Float](repeating: 0, count: n * o)
        func loss() -> Double {
            Layers.fullyConnectedForward(input: input.pointer, weight: weight.pointer, bias: bias.pointer,
                                         output: &output, batch: n,
                                         inputSize: i, outputSize: o)
            return weightedSum(output, r)
        }
        var gradWeight = [Float](repeating: .nan, count: o * i), gradBias = [Float](repeating: .nan, count: o)
        var gradInput = [Float](repeating: .nan, count: n * i)
        Layers.fullyConnectedBackward(input: input.pointer, weight: weight.pointer, gradOutput: r, gradWeight: &gradWeight,
                                      gradBias: &gradBias, gradInput: &gradInput, batch: n, inputSize: i, outputSize: o)
        for k in 0..<weight.count {
            #expect(close(gradWeight[k], numericDerivative(weight.pointer, k, epsilon: 1e-2, loss), atol: 1e-3, rtol: 1e-3))
        }
        for k in 0..<bias.count {
            #expect(close(gradBias[k], numericDerivative(bias.pointer, k, epsilon: 1e-2, loss), atol: 1e-3, rtol: 1e-3))
        }
        for k in 0..<input.count {
            #expect(close(gradInput[k], numericDerivative(input.pointer, k, epsilon: 1e-2, loss), atol: 1e-3, rtol: 1e-3))
        }
    }

    @Test("softmax cross-entropy: loss, correct count and logit gradients, stable for large logits")
    func softmaxCrossEntropy() {
        let (n, k) = (3, 5)
        var random = TestRandom(seed: 5)
        var values = random.uniform(n * k, -3, 3)
        values[k + 2] += 1000   // sample 1: a huge logit must not overflow
        let logits = FloatBuffer(values)
        let labels: [Int32] = [4, 2, 0]
        var reference = 0.0
        for row in 0..<n {
            let scores = values[(row * k)..<((row + 1) * k)].map(Double.init)
            let top = scores.max()!
            reference += top + Foundation.log(scores.map { Foundation.exp($0 - top) }.reduce(0, +))
                - scores[Int(labels[row])]
        }
        var grad = [Float](repeating: .nan, count: n * k)
        let result = Layers.softmaxCrossEntropy(logits: logits.pointer, labels: labels, batch: n, classes: k, gradLogits: &grad)
        #expect(abs(Double(result.loss) - reference / Double(n)) < 1e-5)
        let expectedCorrect = (0..<n).filter { row in
            let scores = values[(row * k)..<((row + 1) * k)]
            return scores.firstIndex(of: scores.max()!)! - row * k == Int(labels[row])
        }.count
        #expect(result.correct == expectedCorrect && result.correct >= 1)
        func loss() -> Double {
            Double(Layers.softmaxCrossEntropy(logits: logits.pointer, labels: labels, batch: n, classes: k, gradLogits: nil).loss)
        }
        for i in 0..<logits.count where i / k != 1 {
            #expect(close(grad[i], numericDerivative(logits.pointer, i, epsilon: 1e-2, loss), atol: 1e-3, rtol: 1e-2))
        }
        #expect(abs(grad[k + 2] - 0.0) < 1e-6 && grad[(k)..<(2 * k)].allSatisfy { $0.isFinite })
    }

    @Test("swapLeadingAxes converts N x C x HW to C x N x HW and back")
    func swapLeadingAxes() {
        let source = (0..<24).map(Float.init)   // N=2, C=3, inner=4
        var swapped = [Float](repeating: 0, count: 24), back = [Float](repeating: 0, count: 24)
        Layers.swapLeadingAxes(source, &swapped, a: 2, b: 3, inner: 4)
        #expect(Array(swapped[4..<8]) == [12, 13, 14, 15])   // (c=0, n=1) came from (n=1, c=0)
        Layers.swapLeadingAxes(swapped, &back, a: 3, b: 2, inner: 4)
        #expect(back == source)
    }
}

import Foundation

import BLAS
import Tensor

/// The layer kernels, each a forward/backward pair on caller-owned buffers (no allocation).
///
/// Inside the network, activations are stored channel-major, C x N x H x W ("CNHW"): one channel of the whole
/// batch is contiguous, so a convolution over a chunk of images is one sgemm and batch norm reduces over one
/// contiguous run per channel. `swapLeadingAxes` converts from and to the N x C x H x W layout of the outside.
public enum Layers {
    // MARK: Layout

    /// dst (B x A x inner) = src (A x B x inner) with the two leading axes swapped.
    /// NCHW -> CNHW is (A, B) = (N, C); CNHW -> NCHW (and flattening to N x C*H*W) is (A, B) = (C, N).
    public static func swapLeadingAxes(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>,
                                       a: Int, b: Int, inner: Int) {
        Parallel.forRanges(a, grain: max(1, 4096 / max(b * inner, 1))) { range in
            for i in range {
                for j in 0..<b {
                    (dst + (j * a + i) * inner).update(from: src + (i * b + j) * inner, count: inner)
                }
            }
        }
    }

    // MARK: 3x3 convolution, stride 1, padding 1, no bias

    /// col (C*9 x count*H*W) = the 3x3 patches of images first ..< first+count of input (C x N x H x W),
    /// row c*9 + kh*3 + kw, column (n - first)*H*W + h*W + w, zero outside the image.
    public static func im2col(input: UnsafePointer<Float>, channels: Int, batch: Int, height: Int, width: Int,
                              first: Int, count: Int, col: UnsafeMutablePointer<Float>) {
        let planeSize = height * width
        let columns = count * planeSize
        Parallel.forRanges(channels) { range in for c in range {
            let plane = input + (c * batch + first) * planeSize
            for kh in 0..<3 {
                for kw in 0..<3 {
                    let row = col + (c * 9 + kh * 3 + kw) * columns
                    let dy = kh - 1, dx = kw - 1
                    for n in 0..<count {
                        let source = plane + n * planeSize
                        let target = row + n * planeSize
                        for h in 0..<height {
                            let d = target + h * width
                            let sh = h + dy
                            if sh < 0 || sh >= height { d.update(repeating: 0, count: width); continue }
                            let s = source + sh * width
                            if dx == 0 {
                                d.update(from: s, count: width)
                            } else if dx < 0 {
                                d[0] = 0
                                (d + 1).update(from: s, count: width - 1)
                            } else {
                                d.update(from: s + 1, count: width - 1)
                                d[width - 1] = 0
                            }
                        }
                    }
                }
            }
        }}
    }

    /// The adjoint of `im2col`: gradInput (C x N x H x W), images first ..< first+count, = the sum of the patches in
    /// col (that part of gradInput is overwritten).
    public static func col2im(col: UnsafePointer<Float>, channels: Int, batch: Int, height: Int, width: Int,
                              first: Int, count: Int, gradInput: UnsafeMutablePointer<Float>) {
        let planeSize = height * width
        let columns = count * planeSize
        Parallel.forRanges(channels) { range in for c in range {
            let plane = gradInput + (c * batch + first) * planeSize
            plane.update(repeating: 0, count: columns)
            for kh in 0..<3 {
                for kw in 0..<3 {
                    let row = col + (c * 9 + kh * 3 + kw) * columns
                    let dy = kh - 1, dx = kw - 1
                    for n in 0..<count {
                        let target = plane + n * planeSize
                        let source = row + n * planeSize
                        for h in 0..<height {
                            let sh = h + dy
                            if sh < 0 || sh >= height { continue }
                            let d = target + sh * width
                            let s = source + h * width
                            if dx == 0 {
                                for w in 0..<width { d[w] += s[w] }
                            } else if dx < 0 {
                                for w in 0..<(width - 1) { d[w] += s[w + 1] }
                            } else {
                                for w in 1..<width { d[w] += s[w - 1] }
                            }
                        }
                    }
                }
            }
        }}
    }

    /// Images per im2col chunk so that one chunk's columns (C*9 x images*H*W) fit `colCapacity` Floats.
    public static func convolutionChunk(channels: Int, planeSize: Int, batch: Int, colCapacity: Int) -> Int {
        let perImage = channels * 9 * planeSize
        precondition(colCapacity >= perImage, "im2col scratch of \(colCapacity) Floats is below one image (\(perImage))")
        return max(1, min(batch, colCapacity / perImage))
    }

    /// output (F x N x H x W) = conv3x3(input (C x N x H x W), weight (F x C x 3 x 3)); `col` is scratch of
    /// `colCapacity` Floats (at least C*9*H*W).
    public static func convolutionForward(input: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                                          output: UnsafeMutablePointer<Float>,
                                          channels: Int, filters: Int, batch: Int, height: Int, width: Int,
                                          col: UnsafeMutablePointer<Float>, colCapacity: Int) {
        let planeSize = height * width
        let chunk = convolutionChunk(channels: channels, planeSize: planeSize, batch: batch, colCapacity: colCapacity)
        var first = 0
        while first < batch {
            let count = min(chunk, batch - first)
            im2col(input: input, channels: channels, batch: batch, height: height, width: width,
                   first: first, count: count, col: col)
            // output[:, first ..< first+count] (F x count*HW, row stride N*HW) = weight (F x C*9) * col (C*9 x count*HW)
            BLAS.sgemm(m: filters, n: count * planeSize, k: channels * 9, a: weight, b: col,
                       c: output + first * planeSize, ldc: batch * planeSize)
            first += count
        }
    }

    /// gradWeight (F x C x 3 x 3) = d loss / d weight (overwritten) and, when `gradInput` is given,
    /// gradInput (C x N x H x W) = d loss / d input (overwritten), from gradOutput (F x N x H x W).
    public static func convolutionBackward(input: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                                           gradOutput: UnsafePointer<Float>,
                                           gradWeight: UnsafeMutablePointer<Float>,
                                           gradInput: UnsafeMutablePointer<Float>?,
                                           channels: Int, filters: Int, batch: Int, height: Int, width: Int,
                                           col: UnsafeMutablePointer<Float>, colCapacity: Int) {
        let planeSize = height * width
        let patch = channels * 9
        let chunk = convolutionChunk(channels: channels, planeSize: planeSize, batch: batch, colCapacity: colCapacity)
        var first = 0
        while first < batch {
            let count = min(chunk, batch - first)
            let columns = count * planeSize
            let gradOutputChunk = gradOutput + first * planeSize
            im2col(input: input, channels: channels, batch: batch, height: height, width: width,
                   first: first, count: count, col: col)
            // gradWeight (F x C*9) (+)= gradOutput chunk (F x columns) * col^T (columns x C*9)
            BLAS.sgemm(.none, .transposed, m: filters, n: patch, k: columns,
                       a: gradOutputChunk, lda: batch * planeSize, b: col,
                       beta: first == 0 ? 0 : 1, c: gradWeight)
            if let gradInput {
                // dcol (C*9 x columns) = weight^T (C*9 x F) * gradOutput chunk (F x columns), reusing col
                BLAS.sgemm(.transposed, .none, m: patch, n: columns, k: filters,
                           a: weight, b: gradOutputChunk, ldb: batch * planeSize, c: col)
                col2im(col: col, channels: channels, batch: batch, height: height, width: width,
                       first: first, count: count, gradInput: gradInput)
            }
            first += count
        }
    }

    // MARK: Batch norm + ReLU

    /// Whether batch norm normalises with the batch's statistics (and updates the running ones) or the running ones.
    public struct BatchNormConfiguration: Sendable {
        /// Added to the variance before the square root.
        public var epsilon: Float = 1e-5
        /// running = (1 - momentum) * running + momentum * batch (PyTorch's convention).
        public var momentum: Float = 0.1
        /// Defaults: epsilon 1e-5, momentum 0.1 (PyTorch's).
        public init() {}
    }

    /// output (C x M) = ReLU(gamma * (input - mean) / sqrt(var + eps) + beta), per channel over the M = N*H*W
    /// contiguous values of that channel. Training: the batch's mean and biased variance, written to `mean` and
    /// `inverseStd` (C each, for the backward), and the running mean / unbiased variance updated. Inference: the
    /// running statistics (copied to `mean`, `inverseStd`).
    public static func batchNormReLUForward(input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>,
                                            gamma: UnsafePointer<Float>, beta: UnsafePointer<Float>,
                                            mean: UnsafeMutablePointer<Float>, inverseStd: UnsafeMutablePointer<Float>,
                                            runningMean: UnsafeMutablePointer<Float>,
                                            runningVariance: UnsafeMutablePointer<Float>,
                                            channels: Int, count: Int, training: Bool,
                                            configuration: BatchNormConfiguration = .init()) {
        Parallel.forRanges(channels) { range in for c in range {
            let x = input + c * count
            let y = output + c * count
            if training {
                let m = VectorMath.sum(x, count: count) / Float(count)
                let squared = VectorMath.sumOfSquaredDeviations(x, count: count, center: m)
                let variance = squared / Float(count)
                mean[c] = m
                inverseStd[c] = 1 / (variance + configuration.epsilon).squareRoot()
                let unbiased = count > 1 ? squared / Float(count - 1) : variance
                let momentum = configuration.momentum
                runningMean[c] = (1 - momentum) * runningMean[c] + momentum * m
                runningVariance[c] = (1 - momentum) * runningVariance[c] + momentum * unbiased
            } else {
                mean[c] = runningMean[c]
                inverseStd[c] = 1 / (runningVariance[c] + configuration.epsilon).squareRoot()
            }
            let (scale, shift) = batchNormAffine(gamma: gamma[c], beta: beta[c], mean: mean[c], inverseStd: inverseStd[c])
            let scaleV = SIMD16<Float>(repeating: scale), shiftV = SIMD16<Float>(repeating: shift)
            let zero = SIMD16<Float>()
            var i = 0
            while i + 16 <= count {
                let v = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD16<Float>.self) * scaleV + shiftV
                UnsafeMutableRawPointer(y + i).storeBytes(of: v.replacing(with: zero, where: v .< zero), as: SIMD16<Float>.self)
                i += 16
            }
            while i < count {
                let v = x[i] * scale + shift
                y[i] = v > 0 ? v : 0
                i += 1
            }
        }}
    }

    /// Batch norm of one channel as y = scale * x + shift.
    @inline(__always)
    static func batchNormAffine(gamma: Float, beta: Float, mean: Float, inverseStd: Float) -> (scale: Float, shift: Float) {
        let scale = gamma * inverseStd
        return (scale, beta - mean * scale)
    }

    /// Inference batch norm as an affine map per channel, for a convolution that applies it (and ReLU) as it writes
    /// (`AffineReLU`): mean and inverseStd (C each) as `batchNormReLUForward` in inference writes them, and
    /// scale, shift (C each) such that its output is ReLU(scale * x + shift), bit for bit.
    public static func batchNormInferenceAffine(gamma: UnsafePointer<Float>, beta: UnsafePointer<Float>,
                                                runningMean: UnsafePointer<Float>,
                                                runningVariance: UnsafePointer<Float>,
                                                mean: UnsafeMutablePointer<Float>,
                                                inverseStd: UnsafeMutablePointer<Float>,
                                                scale: UnsafeMutablePointer<Float>, shift: UnsafeMutablePointer<Float>,
                                                channels: Int, configuration: BatchNormConfiguration = .init()) {
        for c in 0..<channels {
            mean[c] = runningMean[c]
            inverseStd[c] = 1 / (runningVariance[c] + configuration.epsilon).squareRoot()
            (scale[c], shift[c]) = batchNormAffine(gamma: gamma[c], beta: beta[c], mean: mean[c], inverseStd: inverseStd[c])
        }
    }

    /// Backward of `batchNormReLUForward` in training mode: from gradOutput (C x M) and the forward's input,
    /// output, mean and inverseStd, writes gradInput (C x M; may be the same memory as gradOutput),
    /// gradGamma and gradBeta (C each, overwritten).
    public static func batchNormReLUBackward(input: UnsafePointer<Float>, output: UnsafePointer<Float>,
                                             gradOutput: UnsafePointer<Float>, gradInput: UnsafeMutablePointer<Float>,
                                             gamma: UnsafePointer<Float>,
                                             mean: UnsafePointer<Float>, inverseStd: UnsafePointer<Float>,
                                             gradGamma: UnsafeMutablePointer<Float>, gradBeta: UnsafeMutablePointer<Float>,
                                             channels: Int, count: Int) {
        Parallel.forRanges(channels) { range in for c in range {
            let zero = SIMD16<Float>()
            let x = input + c * count, y = output + c * count
            let dy = gradOutput + c * count, dx = gradInput + c * count
            let m = mean[c], invStd = inverseStd[c]
            // Pass 1: g = ReLU mask * dy; sums of g and g * (x - mean).
            var sumG = SIMD16<Float>(), sumGX = SIMD16<Float>()
            let mv = SIMD16<Float>(repeating: m)
            var i = 0
            while i + 16 <= count {
                let yv = UnsafeRawPointer(y + i).loadUnaligned(as: SIMD16<Float>.self)
                let g = UnsafeRawPointer(dy + i).loadUnaligned(as: SIMD16<Float>.self).replacing(with: zero, where: yv .<= zero)
                let xv = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD16<Float>.self)
                sumG += g
                sumGX += g * (xv - mv)
                i += 16
            }
            var totalG = sumG.sum(), totalGX = sumGX.sum()
            while i < count {
                let g: Float = y[i] > 0 ? dy[i] : 0
                totalG += g
                totalGX += g * (x[i] - m)
                i += 1
            }
            let gradB = totalG
            let gradG = totalGX * invStd
            gradBeta[c] = gradB
            gradGamma[c] = gradG
            // Pass 2: dx = gamma * invStd * (g - gradB / M - xhat * gradG / M) = k * g + a * x + b.
            let k = gamma[c] * invStd
            let a = -k * invStd * gradG / Float(count)
            let b = k * (-gradB / Float(count)) - a * m
            let kv = SIMD16<Float>(repeating: k), av = SIMD16<Float>(repeating: a), bv = SIMD16<Float>(repeating: b)
            i = 0
            while i + 16 <= count {
                let yv = UnsafeRawPointer(y + i).loadUnaligned(as: SIMD16<Float>.self)
                let g = UnsafeRawPointer(dy + i).loadUnaligned(as: SIMD16<Float>.self).replacing(with: zero, where: yv .<= zero)
                let xv = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD16<Float>.self)
                UnsafeMutableRawPointer(dx + i).storeBytes(of: kv * g + av * xv + bv, as: SIMD16<Float>.self)
                i += 16
            }
            while i < count {
                let g: Float = y[i] > 0 ? dy[i] : 0
                dx[i] = k * g + a * x[i] + b
                i += 1
            }
        }}
    }

    // MARK: Max-pool

    /// output (P x H/s x W/s) = max over each s x s window (stride s) of input (P planes of H x W);
    /// argmax (same count as output) = index of the maximum inside its plane (first maximum in scan order, NaN wins,
    /// as in PyTorch).
    public static func maxPoolForward(input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>,
                                      argmax: UnsafeMutablePointer<Int32>,
                                      planes: Int, height: Int, width: Int, size: Int) {
        let outHeight = height / size, outWidth = width / size
        Parallel.forRanges(planes, grain: 16) { range in for p in range {
            let plane = input + p * height * width
            let out = output + p * outHeight * outWidth
            let arg = argmax + p * outHeight * outWidth
            if size == 2 {
                // The same scan as below, unrolled for the 2x2 windows of VGG: first maximum wins, NaN wins.
                for oh in 0..<outHeight {
                    let top = plane + 2 * oh * width, bottom = top + width
                    for ow in 0..<outWidth {
                        let start = 2 * oh * width + 2 * ow
                        var best = top[2 * ow], bestIndex = start
                        let b = top[2 * ow + 1], c = bottom[2 * ow], d = bottom[2 * ow + 1]
                        if b > best || b.isNaN { best = b; bestIndex = start + 1 }
                        if c > best || c.isNaN { best = c; bestIndex = start + width }
                        if d > best || d.isNaN { best = d; bestIndex = start + width + 1 }
                        out[oh * outWidth + ow] = best
                        arg[oh * outWidth + ow] = Int32(bestIndex)
                    }
                }
                continue
            }
            for oh in 0..<outHeight {
                for ow in 0..<outWidth {
                    var bestIndex = oh * size * width + ow * size
                    var best = -Float.infinity
                    for i in 0..<size {
                        let rowStart = (oh * size + i) * width + ow * size
                        for j in 0..<size {
                            let v = plane[rowStart + j]
                            if v > best || v.isNaN { best = v; bestIndex = rowStart + j }
                        }
                    }
                    out[oh * outWidth + ow] = best
                    arg[oh * outWidth + ow] = Int32(bestIndex)
                }
            }
        }}
    }

    /// gradInput (P x H x W, overwritten) = gradOutput (P x H/s x W/s) routed to each window's argmax.
    public static func maxPoolBackward(gradOutput: UnsafePointer<Float>, argmax: UnsafePointer<Int32>,
                                       gradInput: UnsafeMutablePointer<Float>,
                                       planes: Int, height: Int, width: Int, size: Int) {
        let outSize = (height / size) * (width / size)
        Parallel.forRanges(planes, grain: 16) { range in
            (gradInput + range.lowerBound * height * width).update(repeating: 0, count: range.count * height * width)
            for p in range {
                let target = gradInput + p * height * width
                let source = gradOutput + p * outSize
                let arg = argmax + p * outSize
                for o in 0..<outSize { target[Int(arg[o])] += source[o] }
            }
        }
    }

    // MARK: Fully connected

    /// output (N x O) = input (N x I) * weight^T (weight O x I, row-major) + bias (O; none when nil).
    public static func fullyConnectedForward(input: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                                             bias: UnsafePointer<Float>?, output: UnsafeMutablePointer<Float>,
                                             batch: Int, inputSize: Int, outputSize: Int) {
        if let bias {
            for n in 0..<batch { (output + n * outputSize).update(from: bias, count: outputSize) }
        }
        BLAS.sgemm(.none, .transposed, m: batch, n: outputSize, k: inputSize,
                   a: input, b: weight, beta: bias == nil ? 0 : 1, c: output)
    }

    /// gradWeight (O x I) and gradBias (O) overwritten, and gradInput (N x I) when given, from gradOutput (N x O).
    public static func fullyConnectedBackward(input: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                                              gradOutput: UnsafePointer<Float>,
                                              gradWeight: UnsafeMutablePointer<Float>,
                                              gradBias: UnsafeMutablePointer<Float>?,
                                              gradInput: UnsafeMutablePointer<Float>?,
                                              batch: Int, inputSize: Int, outputSize: Int) {
        // gradWeight (O x I) = gradOutput^T (O x N) * input (N x I)
        BLAS.sgemm(.transposed, .none, m: outputSize, n: inputSize, k: batch, a: gradOutput, b: input, c: gradWeight)
        if let gradBias {
            gradBias.update(repeating: 0, count: outputSize)
            for n in 0..<batch {
                let row = gradOutput + n * outputSize
                for o in 0..<outputSize { gradBias[o] += row[o] }
            }
        }
        if let gradInput {
            // gradInput (N x I) = gradOutput (N x O) * weight (O x I)
            BLAS.sgemm(m: batch, n: inputSize, k: outputSize, a: gradOutput, b: weight, c: gradInput)
        }
    }

    // MARK: Softmax cross-entropy

    /// Mean over the batch of -log softmax(logits)[label] for logits (N x K) and 0-based labels (N), the count of
    /// rows whose first largest logit is the label, and, when `gradLogits` is given, d mean loss / d logits (N x K)
    /// = (softmax - onehot) / N. Computed stably (max subtracted).
    public static func softmaxCrossEntropy(logits: UnsafePointer<Float>, labels: UnsafePointer<Int32>,
                                           batch: Int, classes: Int,
                                           gradLogits: UnsafeMutablePointer<Float>?) -> (loss: Float, correct: Int) {
        var totalLoss = 0.0
        var correct = 0
        for n in 0..<batch {
            let row = logits + n * classes
            let label = Int(labels[n])
            precondition(label >= 0 && label < classes, "label \(label) of sample \(n) is outside 0..<\(classes)")
            var best = row[0], bestIndex = 0
            for k in 1..<classes where row[k] > best { best = row[k]; bestIndex = k }
            if bestIndex == label { correct += 1 }
            var sum = 0.0
            for k in 0..<classes { sum += exp(Double(row[k] - best)) }
            totalLoss += log(sum) - Double(row[label] - best)
            if let gradLogits {
                let grad = gradLogits + n * classes
                let scale = 1 / (sum * Double(batch))
                for k in 0..<classes { grad[k] = Float(exp(Double(row[k] - best)) * scale) }
                grad[label] -= 1 / Float(batch)
            }
        }
        return (Float(totalLoss / Double(batch)), correct)
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

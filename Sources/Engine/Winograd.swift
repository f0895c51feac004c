import BLAS
import Tensor

/// How a 3x3, stride 1, padding 1 convolution computes its products.
public enum ConvolutionAlgorithm: String, Codable, Sendable, CaseIterable {
    /// Patches unfolded into a C*9 x pixels matrix and one sgemm: 9 multiplies per channel pair and pixel.
    case im2col
    /// Winograd F(2x2, 3x3) (Lavin & Gray 2016): 4x4 input tiles, 16 sgemms; 2.25x fewer multiplies.
    case winogradF2 = "winograd-f2"
    /// Winograd F(4x4, 3x3): 6x6 input tiles, 36 sgemms; 4x fewer multiplies, slightly larger rounding error.
    case winogradF4 = "winograd-f4"

    /// Side m of the output tile, nil for im2col.
    public var tileSide: Int? {
        switch self {
        case .im2col: nil
        case .winogradF2: 2
        case .winogradF4: 4
        }
    }

    /// Whether this algorithm runs on a feature map of `side` x `side`: Winograd tiles must cover it exactly.
    public func supports(side: Int) -> Bool {
        guard let m = tileSide else { return true }
        return side >= m && side % m == 0
    }

    /// Multiplies of im2col per multiply of this algorithm (1, 2.25, 4).
    public var multiplyReduction: Double {
        guard let m = tileSide else { return 1 }
        return Double(9 * m * m) / Double((m + 2) * (m + 2))
    }
}

/// The Winograd F(m x m, 3 x 3) convolution kernels (Lavin & Gray 2016, "Fast Algorithms for Convolutional Neural
/// Networks"), on the engine's C x N x H x W activations; each a forward/backward piece on caller-owned buffers.
///
/// With alpha = m + 2, an input tile d (alpha x alpha, zero-padded at the image border) and a 3x3 filter g give
/// the m x m output tile Y = A^T [ (G g G^T) ⊙ (B^T d B) ] A. Over a chunk of T tiles and C input, F output
/// channels, the elementwise products at each of the alpha² tile positions xi are one sgemm:
/// M[xi] (F x T) = U[xi] (F x C) * V[xi] (C x T). Buffers:
/// - U, filter transforms: alpha² x O x I (xi, output channel, input channel);
/// - V, input transforms: alpha² x C x T; M, products: alpha² x F x T;
/// - tile t of a chunk = (image - first) * tilesH * tilesW + ty * tilesW + tx, tilesH = H / m, tilesW = W / m.
/// Backward, from the output gradient's transforms dM = A dY A^T: the weight gradient is
/// dW = G^T [ sum over tiles dM ⊙ (B^T d B) ] G, the input gradient the sum over tiles of B [ U^T dM ] B^T
/// (the adjoint of the forward, scattered back onto the overlapping input tiles).
///
/// The matrices (Lavin & Gray), written out in the 1-D kernels `Layers.winogradInput1D` (B^T),
/// `winogradFilter1D` (G, and G^T in `winogradFilterAdjoint1D`), `winogradOutput1D` (A^T) and
/// `winogradGradient1D` (A):
/// - F(2x2, 3x3): B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1], G = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1],
///   A^T = [1 1 1 0; 0 1 -1 -1].
/// - F(4x4, 3x3): B^T = [4 0 -5 0 1 0; 0 -4 -4 1 1 0; 0 4 -4 -1 1 0; 0 -2 -1 2 1 0; 0 2 -1 -2 1 0; 0 4 0 -5 0 1],
///   G = [1/4 0 0; -1/6 -1/6 -1/6; -1/6 1/6 -1/6; 1/24 1/12 1/6; 1/24 -1/12 1/6; 0 0 1],
///   A^T = [1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 0; 0 1 -1 8 -8 1].
public struct WinogradTransform: Sendable {
    /// Output tile side m.
    public let m: Int
    /// Input tile side alpha = m + 2.
    public let alpha: Int
    /// The transform of `algorithm` (nil for im2col).
    public init?(_ algorithm: ConvolutionAlgorithm) {
        guard let m = algorithm.tileSide else { return nil }
        self.m = m
        alpha = m + 2
    }

    /// Tile positions per tile, alpha².
    public var positions: Int { alpha * alpha }

    /// Floats of one tile buffer (V or M) per image and channel for maps of `height` x `width`.
    public func tileFloats(height: Int, width: Int) -> Int { positions * (height / m) * (width / m) }

    /// Floats one image needs in each tile buffer (V and M) of a convolution from `channels` to `filters`
    /// channels, which holds the input transforms and the products alike: alpha² x max(C, F) x tiles.
    public func imageTileFloats(channels: Int, filters: Int, height: Int, width: Int) -> Int {
        max(channels, filters) * tileFloats(height: height, width: width)
    }
}

extension Layers {
    // MARK: Winograd transforms

    /// u (alpha² x F x C) = G g G^T for every kernel g = weight[f][c] of weight (F x C x 3 x 3). Eight kernels of
    /// consecutive c at a time, one per SIMD lane.
    public static func winogradFilterTransform(weight: UnsafePointer<Float>, filters: Int, channels: Int,
                                               transform: WinogradTransform, u: UnsafeMutablePointer<Float>) {
        let m = transform.m, a = transform.alpha
        let outputs = filters, inputs = channels
        let plane = outputs * inputs
        Parallel.forRanges(outputs, grain: 4) { range in
            let columns = UnsafeMutablePointer<SIMD8<Float>>.allocate(capacity: 3 * 8)   // [s][r]: G g, column s
            defer { columns.deallocate() }
            for o in range {
                var i0 = 0
                while i0 < inputs {
                    let lanes = min(8, inputs - i0)
                    // kernel(r, s): lane l holds entry (r, s) of the kernel of input i0 + l
                    var kernel = (SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>(),
                                  SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>())
                    withUnsafeMutableBytes(of: &kernel) { raw in
                        let entries = raw.baseAddress!.assumingMemoryBound(to: Float.self)   // [r*3+s][lane]
                        for lane in 0..<lanes {
                            let i = i0 + lane
                            let g = weight + (o * channels + i) * 9
                            for k in 0..<9 { entries[k * 8 + lane] = g[k] }
                        }
                    }
                    let (k0, k1, k2, k3, k4, k5, k6, k7, k8) = kernel
                    winogradFilter1D(m: m, k0, k3, k6, into: columns)
                    winogradFilter1D(m: m, k1, k4, k7, into: columns + 8)
                    winogradFilter1D(m: m, k2, k5, k8, into: columns + 16)
                    let target = u + o * inputs + i0
                    withUnsafeTemporaryAllocation(of: SIMD8<Float>.self, capacity: 8) { row in
                        for r in 0..<a {
                            winogradFilter1D(m: m, columns[r], columns[8 + r], columns[16 + r], into: row.baseAddress!)
                            for s in 0..<a {
                                let destination = target + (r * a + s) * plane
                                if lanes == 8 {
                                    UnsafeMutableRawPointer(destination).storeBytes(of: row[s], as: SIMD8<Float>.self)
                                } else {
                                    for lane in 0..<lanes { destination[lane] = row[s][lane] }
                                }
                            }
                        }
                    }
                    i0 += 8
                }
            }
        }
    }

    /// target[0 ..< alpha] = G (x0, x1, x2), lane by lane: one column (or row) of G g.
    @inline(__always)
    static func winogradFilter1D(m: Int, _ x0: SIMD8<Float>, _ x1: SIMD8<Float>, _ x2: SIMD8<Float>,
                                 into target: UnsafeMutablePointer<SIMD8<Float>>) {
        if m == 2 {
            let half0 = 0.5 * (x0 + x2), half1 = 0.5 * x1
            target[0] = x0
            target[1] = half0 + half1
            target[2] = half0 - half1
            target[3] = x2
            return
        }
        let sixth = -(x0 + x2) / 6, sixth1 = x1 / 6
        let outer = x0 / 24 + x2 / 6, outer1 = x1 / 12
        target[0] = x0 / 4
        target[1] = sixth - sixth1
        target[2] = sixth + sixth1
        target[3] = outer + outer1
        target[4] = outer - outer1
        target[5] = x2
    }

    /// G^T (y[0] ... y[alpha-1]), lane by lane: the adjoint of `winogradFilter1D`, three vectors.
    @inline(__always)
    static func winogradFilterAdjoint1D(m: Int, _ y: UnsafePointer<SIMD8<Float>>, stride: Int)
        -> (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>)
    {
        if m == 2 {
            let y0 = y[0], y1 = y[stride], y2 = y[2 * stride], y3 = y[3 * stride]
            let half = 0.5 * (y1 + y2)
            return (y0 + half, 0.5 * (y1 - y2), half + y3)
        }
        let y0 = y[0], y1 = y[stride], y2 = y[2 * stride], y3 = y[3 * stride], y4 = y[4 * stride], y5 = y[5 * stride]
        let sum12 = y1 + y2, diff12 = y2 - y1, sum34 = y3 + y4, diff34 = y3 - y4
        return (y0 / 4 - sum12 / 6 + sum34 / 24, diff12 / 6 + diff34 / 12, (sum34 - sum12) / 6 + y5)
    }

    /// gradWeight (F x C x 3 x 3, overwritten) = G^T du G, from du (alpha² x F x C), the weight gradient in the
    /// Winograd domain summed over all tiles. Eight kernels of consecutive c at a time, one per SIMD lane.
    public static func winogradFilterGradient(du: UnsafePointer<Float>, filters: Int, channels: Int,
                                              transform: WinogradTransform, gradWeight: UnsafeMutablePointer<Float>) {
        let a = transform.alpha, m = transform.m
        let plane = filters * channels
        Parallel.forRanges(filters, grain: 4) { range in
            let tile = UnsafeMutablePointer<SIMD8<Float>>.allocate(capacity: 36)    // [r][s] of 8 kernels
            let left = UnsafeMutablePointer<SIMD8<Float>>.allocate(capacity: 3 * 6)  // [r][s]: G^T du, 3 x alpha
            defer { tile.deallocate(); left.deallocate() }
            for f in range {
                var c0 = 0
                while c0 < channels {
                    let lanes = min(8, channels - c0)
                    let source = du + f * channels + c0
                    for xi in 0..<(a * a) {
                        if lanes == 8 {
                            tile[xi] = UnsafeRawPointer(source + xi * plane).loadUnaligned(as: SIMD8<Float>.self)
                        } else {
                            var vector = SIMD8<Float>()
                            for lane in 0..<lanes { vector[lane] = source[xi * plane + lane] }
                            tile[xi] = vector
                        }
                    }
                    for s in 0..<a {
                        let (r0, r1, r2) = winogradFilterAdjoint1D(m: m, tile + s, stride: a)
                        (left[s], left[a + s], left[2 * a + s]) = (r0, r1, r2)
                    }
                    for r in 0..<3 {
                        let (v0, v1, v2) = winogradFilterAdjoint1D(m: m, left + r * a, stride: 1)
                        for lane in 0..<lanes {
                            let out = gradWeight + (f * channels + c0 + lane) * 9 + r * 3
                            (out[0], out[1], out[2]) = (v0[lane], v1[lane], v2[lane])
                        }
                    }
                    c0 += 8
                }
            }
        }
    }

    /// Tiles transformed together in the input, output and gradient transforms: a block's alpha² x block
    /// scratch stays in the L2 cache, and every 1-D transform runs over `tileBlock` contiguous values.
    static let winogradTileBlock = 256

    /// Calls `body(start, count, images)` for consecutive blocks of whole images' tiles: images
    /// start ..< start+images (0-based inside the chunk), whose tiles are count = images * tilesPerImage.
    @inline(__always)
    private static func forTileBlocks(images: Int, tilesPerImage: Int, _ body: (Int, Int) -> Void) {
        let imagesPerBlock = max(1, winogradTileBlock / tilesPerImage)
        var start = 0
        while start < images {
            let count = min(imagesPerBlock, images - start)
            body(start, count)
            start += count
        }
    }

    /// target[k * stride + tx] = row[m * tx + k] for k < alpha, tx < tiles: one (padded) row cut into the
    /// alpha-wide, m-apart windows of its tiles, window element k of every tile into run k (alpha = m: no overlap). The row is read once,
    /// left to right, with wrapping index arithmetic (the indices stay inside the tile buffers by construction).
    @inline(__always)
    private static func gatherRow(_ row: UnsafePointer<Float>, m: Int, alpha: Int, tiles: Int,
                                  into target: UnsafeMutablePointer<Float>, stride: Int) {
        switch alpha {
        case 6:
            let (t0, t1, t2) = (target, target + stride, target + 2 &* stride)
            let (t3, t4, t5) = (target + 3 &* stride, target + 4 &* stride, target + 5 &* stride)
            for tx in 0..<tiles {
                let window = row + m &* tx
                t0[tx] = window[0]; t1[tx] = window[1]; t2[tx] = window[2]
                t3[tx] = window[3]; t4[tx] = window[4]; t5[tx] = window[5]
            }
        case 4:
            let (t0, t1, t2, t3) = (target, target + stride, target + 2 &* stride, target + 3 &* stride)
            for tx in 0..<tiles {
                let window = row + m &* tx
                t0[tx] = window[0]; t1[tx] = window[1]; t2[tx] = window[2]; t3[tx] = window[3]
            }
        case 2:
            let (t0, t1) = (target, target + stride)
            for tx in 0..<tiles {
                let window = row + m &* tx
                t0[tx] = window[0]; t1[tx] = window[1]
            }
        default:
            for k in 0..<alpha {
                for tx in 0..<tiles { target[k &* stride &+ tx] = row[m &* tx &+ k] }
            }
        }
    }

    /// row[m * tx + jj] = map(source[jj * stride + tx]) for jj < m, tx < tiles: one output row of m-wide tile rows,
    /// written left to right; the inverse of `gatherRow`'s cut, without overlap.
    @inline(__always)
    private static func scatterRow(_ source: UnsafePointer<Float>, stride: Int, m: Int, tiles: Int,
                                   into row: UnsafeMutablePointer<Float>, _ map: (Float) -> Float) {
        switch m {
        case 4:
            let (s0, s1, s2, s3) = (source, source + stride, source + 2 &* stride, source + 3 &* stride)
            for tx in 0..<tiles {
                let out = row + 4 &* tx
                out[0] = map(s0[tx]); out[1] = map(s1[tx]); out[2] = map(s2[tx]); out[3] = map(s3[tx])
            }
        case 2:
            let (s0, s1) = (source, source + stride)
            for tx in 0..<tiles {
                let out = row + 2 &* tx
                out[0] = map(s0[tx]); out[1] = map(s1[tx])
            }
        default:
            for jj in 0..<m {
                for tx in 0..<tiles { row[m &* tx &+ jj] = map(source[jj &* stride &+ tx]) }
            }
        }
    }

    /// row[m * tx + k] += source[k * stride + tx] for k < alpha, tx < tiles, tile after tile: the adjoint of
    /// `gatherRow`, adding each tile's alpha-wide window into the (padded) row, where neighbouring windows overlap.
    @inline(__always)
    private static func scatterAddRow(_ source: UnsafePointer<Float>, stride: Int, m: Int, alpha: Int, tiles: Int,
                                      into row: UnsafeMutablePointer<Float>) {
        switch alpha {
        case 6:
            let (s0, s1, s2) = (source, source + stride, source + 2 &* stride)
            let (s3, s4, s5) = (source + 3 &* stride, source + 4 &* stride, source + 5 &* stride)
            for tx in 0..<tiles {
                let window = row + m &* tx
                window[0] += s0[tx]; window[1] += s1[tx]; window[2] += s2[tx]
                window[3] += s3[tx]; window[4] += s4[tx]; window[5] += s5[tx]
            }
        case 4:
            let (s0, s1, s2, s3) = (source, source + stride, source + 2 &* stride, source + 3 &* stride)
            for tx in 0..<tiles {
                let window = row + m &* tx
                window[0] += s0[tx]; window[1] += s1[tx]; window[2] += s2[tx]; window[3] += s3[tx]
            }
        default:
            for tx in 0..<tiles {
                for k in 0..<alpha { row[m &* tx &+ k] += source[k &* stride &+ tx] }
            }
        }
    }

    /// v (alpha² x C x T) = B^T d B for every tile d of images first ..< first+count of input (C x N x H x W),
    /// zero-padded by one pixel; T = count * (H/m) * (W/m).
    public static func winogradInputTransform(input: UnsafePointer<Float>, channels: Int, batch: Int,
                                              height: Int, width: Int, first: Int, count: Int,
                                              transform: WinogradTransform, v: UnsafeMutablePointer<Float>) {
        let m = transform.m, a = transform.alpha
        let tilesH = height / m, tilesW = width / m, tilesPerImage = tilesH * tilesW
        let tiles = count * tilesPerImage
        let imagesPerBlock = max(1, winogradTileBlock / tilesPerImage)
        let block = imagesPerBlock * tilesPerImage
        Parallel.forRanges(channels) { range in
            let gathered = UnsafeMutablePointer<Float>.allocate(capacity: a * a * block)   // [k1][k2][tile] = d
            let down = UnsafeMutablePointer<Float>.allocate(capacity: a * a * block)       // [j][k2][tile] = B^T d
            let padded = UnsafeMutablePointer<Float>.allocate(capacity: width + m + 2)      // one row, zero ends
            padded.initialize(repeating: 0, count: width + m + 2)
            defer { gathered.deallocate(); down.deallocate(); padded.deallocate() }
            for c in range {
                forTileBlocks(images: count, tilesPerImage: tilesPerImage) { start, images in
                    let blockTiles = images * tilesPerImage
                    for image in 0..<images {
                        let plane = input + (c * batch + first + start + image) * height * width
                        for ty in 0..<tilesH {
                            let tileBase = (image * tilesH + ty) * tilesW
                            for k1 in 0..<a {
                                let y = m * ty - 1 + k1
                                if y < 0 || y >= height {
                                    for k2 in 0..<a {
                                        (gathered + (k1 * a + k2) * blockTiles + tileBase).update(repeating: 0, count: tilesW)
                                    }
                                    continue
                                }
                                (padded + 1).update(from: plane + y * width, count: width)
                                gatherRow(padded, m: m, alpha: a, tiles: tilesW,
                                          into: gathered + k1 * a * blockTiles + tileBase, stride: blockTiles)
                            }
                        }
                    }
                    // down[j][k2] = sum_k1 B^T[j][k1] d[k1][k2]: rows k2 of one k1 are a contiguous a x blockTiles run
                    winogradInput1D(m: m, source: gathered, sourceStride: a * blockTiles, target: down,
                                    targetStride: a * blockTiles, count: a * blockTiles)
                    for j in 0..<a {
                        winogradInput1D(m: m, source: down + j * a * blockTiles, sourceStride: blockTiles,
                                        target: v + (j * a * channels + c) * tiles + start * tilesPerImage,
                                        targetStride: channels * tiles, count: blockTiles)
                    }
                }
            }
        }
    }

    /// The 2-D transform of one channel's tiles in a block, from a tile buffer (alpha² x channels x T): with the
    /// 1-D kernel K (alpha values in, `side` out; arguments source, source stride, target, target stride, count),
    /// across[j][s][tile] = K over the row j of each tile, then down[r][s][tile] = K over the columns of across.
    /// Tiles firstTile ..< firstTile + blockTiles of the buffer; across holds alpha x side x blockTiles Floats, down
    /// side x side x blockTiles.
    @inline(__always)
    private static func transformBlock(of buffer: UnsafePointer<Float>, channel: Int, channels: Int, tiles: Int,
                                       alpha: Int, side: Int, firstTile: Int, blockTiles: Int,
                                       across: UnsafeMutablePointer<Float>, into down: UnsafeMutablePointer<Float>,
                                       _ kernel: (UnsafePointer<Float>, Int, UnsafeMutablePointer<Float>, Int, Int) -> Void) {
        for j in 0..<alpha {
            kernel(buffer + (j * alpha * channels + channel) * tiles + firstTile, channels * tiles,
                   across + j * side * blockTiles, blockTiles, blockTiles)
        }
        kernel(across, side * blockTiles, down, side * blockTiles, side * blockTiles)
    }

    /// gradInput (C x N x H x W), images first ..< first+count (overwritten) = the sum over the tiles covering each
    /// pixel of B dv B^T, for dv (alpha² x C x T) the gradient of those images' input transforms: the adjoint of
    /// `winogradInputTransform` (the one-pixel zero padding drops out). Neighbouring tiles overlap by alpha - m
    /// pixels; their parts are added tile after tile, in a fixed order.
    public static func winogradInputGradientTransform(dv: UnsafePointer<Float>, channels: Int, batch: Int,
                                                      height: Int, width: Int, first: Int, count: Int,
                                                      transform: WinogradTransform,
                                                      gradInput: UnsafeMutablePointer<Float>) {
        let m = transform.m, a = transform.alpha
        let tilesH = height / m, tilesW = width / m, tilesPerImage = tilesH * tilesW
        let tiles = count * tilesPerImage
        let block = max(1, winogradTileBlock / tilesPerImage) * tilesPerImage
        let paddedWidth = width + 2
        Parallel.forRanges(channels) { range in
            let up = UnsafeMutablePointer<Float>.allocate(capacity: a * a * block)        // [j][k2][tile] = dv B^T
            let spread = UnsafeMutablePointer<Float>.allocate(capacity: a * a * block)    // [k1][k2][tile] = B dv B^T
            let padded = UnsafeMutablePointer<Float>.allocate(capacity: (height + 2) * paddedWidth)   // one plane
            defer { up.deallocate(); spread.deallocate(); padded.deallocate() }
            for c in range {
                forTileBlocks(images: count, tilesPerImage: tilesPerImage) { start, images in
                    let blockTiles = images * tilesPerImage
                    // up[j][k2] = sum_i B^T[i][k2] dv[j][i], spread[k1][k2] = sum_j B^T[j][k1] up[j][k2]
                    transformBlock(of: dv, channel: c, channels: channels, tiles: tiles, alpha: a, side: a,
                                   firstTile: start * tilesPerImage, blockTiles: blockTiles, across: up, into: spread) {
                        winogradInputAdjoint1D(m: m, source: $0, sourceStride: $1, target: $2, targetStride: $3, count: $4)
                    }
                    for image in 0..<images {
                        padded.update(repeating: 0, count: (height + 2) * paddedWidth)
                        for ty in 0..<tilesH {
                            let tileBase = (image * tilesH + ty) * tilesW
                            for k1 in 0..<a {
                                scatterAddRow(spread + k1 * a * blockTiles + tileBase, stride: blockTiles, m: m,
                                              alpha: a, tiles: tilesW, into: padded + (m * ty + k1) * paddedWidth)
                            }
                        }
                        let plane = gradInput + (c * batch + first + start + image) * height * width
                        for y in 0..<height {
                            (plane + y * width).update(from: padded + (y + 1) * paddedWidth + 1, count: width)
                        }
                    }
                }
            }
        }
    }

    /// output (F x N x H x W), images first ..< first+count (overwritten) = A^T M A for the products
    /// products (alpha² x F x T) of those images' tiles; with `affineReLU`, ReLU(scale[f] * y + shift[f]) instead
    /// (inference batch norm and ReLU fused into the transform; the same arithmetic as `batchNormReLUForward`), and
    /// with `affineReLU.pooled` its 2 x 2 max-pool too: output is then F x N x H/2 x W/2.
    public static func winogradOutputTransform(products: UnsafePointer<Float>, filters: Int, batch: Int,
                                               height: Int, width: Int, first: Int, count: Int,
                                               transform: WinogradTransform, output: UnsafeMutablePointer<Float>,
                                               affineReLU: AffineReLU? = nil) {
        let m = transform.m, a = transform.alpha
        let tilesH = height / m, tilesW = width / m, tilesPerImage = tilesH * tilesW
        let tiles = count * tilesPerImage
        let block = max(1, winogradTileBlock / tilesPerImage) * tilesPerImage
        Parallel.forRanges(filters) { range in
            let across = UnsafeMutablePointer<Float>.allocate(capacity: a * m * block)   // [j][jj][tile] = M A
            let down = UnsafeMutablePointer<Float>.allocate(capacity: m * m * block)     // [i][jj][tile] = A^T M A
            defer { across.deallocate(); down.deallocate() }
            for f in range {
                forTileBlocks(images: count, tilesPerImage: tilesPerImage) { start, images in
                    let blockTiles = images * tilesPerImage
                    // across[j][jj] = sum_k A^T[jj][k] M[j][k], down[i][jj] = sum_j A^T[i][j] across[j][jj]
                    transformBlock(of: products, channel: f, channels: filters, tiles: tiles, alpha: a, side: m,
                                   firstTile: start * tilesPerImage, blockTiles: blockTiles, across: across, into: down) {
                        winogradOutput1D(m: m, source: $0, sourceStride: $1, target: $2, targetStride: $3, count: $4)
                    }
                    if let affineReLU, affineReLU.pooled {
                        poolTiles(down, blockTiles: blockTiles, images: images, tilesH: tilesH, tilesW: tilesW, m: m,
                                  scale: affineReLU.scale[f], shift: affineReLU.shift[f],
                                  output: output + (f * batch + first + start) * (height / 2) * (width / 2))
                        return
                    }
                    for image in 0..<images {
                        let plane = output + (f * batch + first + start + image) * height * width
                        for ty in 0..<tilesH {
                            let tileBase = (image * tilesH + ty) * tilesW
                            for i in 0..<m {
                                let row = plane + (m * ty + i) * width
                                let source = down + i * m * blockTiles + tileBase
                                if let affineReLU {
                                    let scale = affineReLU.scale[f], shift = affineReLU.shift[f]
                                    scatterRow(source, stride: blockTiles, m: m, tiles: tilesW, into: row) { value in
                                        let v = value * scale + shift
                                        return v < 0 ? 0 : v     // NaN stays NaN, as in the unfused pass
                                    }
                                } else {
                                    scatterRow(source, stride: blockTiles, m: m, tiles: tilesW, into: row) { $0 }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// The pooled epilogue of `winogradOutputTransform` for one filter: from down ([i][jj][tile] = A^T M A, m x m
    /// values per tile of a block of `images` images), output (images x H/2 x W/2, one filter's planes) = 2 x 2
    /// max-pool of ReLU(scale * y + shift). The window is scanned as `maxPoolForward` scans it (top left, top
    /// right, bottom left, bottom right; a later value wins when larger or NaN), so the values are bit-identical.
    @inline(__always)
    private static func poolTiles(_ down: UnsafePointer<Float>, blockTiles: Int, images: Int, tilesH: Int, tilesW: Int,
                                  m: Int, scale: Float, shift: Float, output: UnsafeMutablePointer<Float>) {
        let half = m / 2, outWidth = tilesW * half, outPlane = tilesH * half * outWidth
        for image in 0..<images {
            let plane = output + image * outPlane
            for ty in 0..<tilesH {
                let tileBase = (image * tilesH + ty) * tilesW
                for r in 0..<half {
                    let row = plane + (half * ty + r) * outWidth
                    for column in 0..<half {
                        let topLeft = down + (2 * r * m + 2 * column) * blockTiles + tileBase
                        let topRight = topLeft + blockTiles
                        let bottomLeft = topLeft + m * blockTiles, bottomRight = bottomLeft + blockTiles
                        for tx in 0..<tilesW {
                            let a = topLeft[tx] * scale + shift, b = topRight[tx] * scale + shift
                            let c = bottomLeft[tx] * scale + shift, d = bottomRight[tx] * scale + shift
                            var best = a < 0 ? 0 : a                      // ReLU as in the unpooled epilogue
                            let rb = b < 0 ? 0 : b, rc = c < 0 ? 0 : c, rd = d < 0 ? 0 : d
                            if rb > best || rb.isNaN { best = rb }
                            if rc > best || rc.isNaN { best = rc }
                            if rd > best || rd.isNaN { best = rd }
                            row[half * tx + column] = best
                        }
                    }
                }
            }
        }
    }

    /// dm (alpha² x F x T) = A dY A^T for every m x m tile dY of images first ..< first+count of gradOutput
    /// (F x N x H x W): the adjoint of `winogradOutputTransform`.
    public static func winogradGradientTransform(gradOutput: UnsafePointer<Float>, filters: Int, batch: Int,
                                                 height: Int, width: Int, first: Int, count: Int,
                                                 transform: WinogradTransform, dm: UnsafeMutablePointer<Float>) {
        let m = transform.m, a = transform.alpha
        let tilesH = height / m, tilesW = width / m, tilesPerImage = tilesH * tilesW
        let tiles = count * tilesPerImage
        let block = max(1, winogradTileBlock / tilesPerImage) * tilesPerImage
        Parallel.forRanges(filters) { range in
            let gathered = UnsafeMutablePointer<Float>.allocate(capacity: m * m * block)   // [i][jj][tile] = dY
            let down = UnsafeMutablePointer<Float>.allocate(capacity: a * m * block)       // [j][jj][tile] = A dY
            defer { gathered.deallocate(); down.deallocate() }
            for f in range {
                forTileBlocks(images: count, tilesPerImage: tilesPerImage) { start, images in
                    let blockTiles = images * tilesPerImage
                    for image in 0..<images {
                        let plane = gradOutput + (f * batch + first + start + image) * height * width
                        for ty in 0..<tilesH {
                            let tileBase = (image * tilesH + ty) * tilesW
                            for i in 0..<m {
                                gatherRow(plane + (m * ty + i) * width, m: m, alpha: m, tiles: tilesW,
                                          into: gathered + i * m * blockTiles + tileBase, stride: blockTiles)
                            }
                        }
                    }
                    winogradGradient1D(m: m, source: gathered, sourceStride: m * blockTiles, target: down,
                                       targetStride: m * blockTiles, count: m * blockTiles)
                    for j in 0..<a {
                        winogradGradient1D(m: m, source: down + j * m * blockTiles, sourceStride: blockTiles,
                                           target: dm + (j * a * filters + f) * tiles + start * tilesPerImage,
                                           targetStride: filters * tiles, count: blockTiles)
                    }
                }
            }
        }
    }

    // MARK: 1-D transforms over contiguous runs

    /// target[r * targetStride + i] = sum_k B^T[r][k] source[k * sourceStride + i], r, k < alpha, i < count.
    @inline(__always)
    static func winogradInput1D(m: Int, source s: UnsafePointer<Float>, sourceStride: Int,
                                target t: UnsafeMutablePointer<Float>, targetStride: Int, count: Int) {
        let (S, T) = (sourceStride, targetStride)
        if m == 2 {
            let (s0, s1, s2, s3) = (s, s + S, s + 2 * S, s + 3 * S)
            let (t0, t1, t2, t3) = (t, t + T, t + 2 * T, t + 3 * T)
            for i in 0..<count {
                let d0 = s0[i], d1 = s1[i], d2 = s2[i], d3 = s3[i]
                t0[i] = d0 - d2
                t1[i] = d1 + d2
                t2[i] = d2 - d1
                t3[i] = d1 - d3
            }
        } else {
            let (s0, s1, s2, s3, s4, s5) = (s, s + S, s + 2 * S, s + 3 * S, s + 4 * S, s + 5 * S)
            let (t0, t1, t2, t3, t4, t5) = (t, t + T, t + 2 * T, t + 3 * T, t + 4 * T, t + 5 * T)
            for i in 0..<count {
                let d0 = s0[i], d1 = s1[i], d2 = s2[i], d3 = s3[i], d4 = s4[i], d5 = s5[i]
                t0[i] = 4 * d0 - 5 * d2 + d4
                t1[i] = -4 * (d1 + d2) + d3 + d4
                t2[i] = 4 * (d1 - d2) - d3 + d4
                t3[i] = 2 * (d3 - d1) - d2 + d4
                t4[i] = 2 * (d1 - d3) - d2 + d4
                t5[i] = 4 * d1 - 5 * d3 + d5
            }
        }
    }

    /// target[k * targetStride + i] = sum_r B^T[r][k] source[r * sourceStride + i], r, k < alpha, i < count: B
    /// applied, the adjoint of `winogradInput1D`.
    @inline(__always)
    static func winogradInputAdjoint1D(m: Int, source s: UnsafePointer<Float>, sourceStride: Int,
                                       target t: UnsafeMutablePointer<Float>, targetStride: Int, count: Int) {
        let (S, T) = (sourceStride, targetStride)
        if m == 2 {
            let (s0, s1, s2, s3) = (s, s + S, s + 2 * S, s + 3 * S)
            let (t0, t1, t2, t3) = (t, t + T, t + 2 * T, t + 3 * T)
            for i in 0..<count {
                let y0 = s0[i], y1 = s1[i], y2 = s2[i], y3 = s3[i]
                t0[i] = y0
                t1[i] = y1 - y2 + y3
                t2[i] = y1 + y2 - y0
                t3[i] = -y3
            }
        } else {
            let (s0, s1, s2, s3, s4, s5) = (s, s + S, s + 2 * S, s + 3 * S, s + 4 * S, s + 5 * S)
            let (t0, t1, t2, t3, t4, t5) = (t, t + T, t + 2 * T, t + 3 * T, t + 4 * T, t + 5 * T)
            for i in 0..<count {
                let y0 = s0[i], y1 = s1[i], y2 = s2[i], y3 = s3[i], y4 = s4[i], y5 = s5[i]
                t0[i] = 4 * y0
                t1[i] = 4 * (y2 - y1 + y5) + 2 * (y4 - y3)
                t2[i] = -5 * y0 - 4 * (y1 + y2) - y3 - y4
                t3[i] = y1 - y2 + 2 * (y3 - y4) - 5 * y5
                t4[i] = y0 + y1 + y2 + y3 + y4
                t5[i] = y5
            }
        }
    }

    /// target[r * targetStride + i] = sum_k A^T[r][k] source[k * sourceStride + i], r < m, k < alpha.
    @inline(__always)
    static func winogradOutput1D(m: Int, source s: UnsafePointer<Float>, sourceStride: Int,
                                 target t: UnsafeMutablePointer<Float>, targetStride: Int, count: Int) {
        let (S, T) = (sourceStride, targetStride)
        if m == 2 {
            let (s0, s1, s2, s3) = (s, s + S, s + 2 * S, s + 3 * S)
            let (t0, t1) = (t, t + T)
            for i in 0..<count {
                let d0 = s0[i], d1 = s1[i], d2 = s2[i], d3 = s3[i]
                t0[i] = d0 + d1 + d2
                t1[i] = d1 - d2 - d3
            }
        } else {
            let (s0, s1, s2, s3, s4, s5) = (s, s + S, s + 2 * S, s + 3 * S, s + 4 * S, s + 5 * S)
            let (t0, t1, t2, t3) = (t, t + T, t + 2 * T, t + 3 * T)
            for i in 0..<count {
                let d0 = s0[i], d1 = s1[i], d2 = s2[i], d3 = s3[i], d4 = s4[i], d5 = s5[i]
                let sum12 = d1 + d2, diff12 = d1 - d2, sum34 = d3 + d4, diff34 = d3 - d4
                t0[i] = d0 + sum12 + sum34
                t1[i] = diff12 + 2 * diff34
                t2[i] = sum12 + 4 * sum34
                t3[i] = diff12 + 8 * diff34 + d5
            }
        }
    }

    /// target[r * targetStride + i] = sum_k A[r][k] source[k * sourceStride + i] (A = (A^T)^T), r < alpha, k < m:
    /// the adjoint of `winogradOutput1D`.
    @inline(__always)
    static func winogradGradient1D(m: Int, source s: UnsafePointer<Float>, sourceStride: Int,
                                   target t: UnsafeMutablePointer<Float>, targetStride: Int, count: Int) {
        let (S, T) = (sourceStride, targetStride)
        if m == 2 {
            let (s0, s1) = (s, s + S)
            let (t0, t1, t2, t3) = (t, t + T, t + 2 * T, t + 3 * T)
            for i in 0..<count {
                let y0 = s0[i], y1 = s1[i]
                t0[i] = y0
                t1[i] = y0 + y1
                t2[i] = y0 - y1
                t3[i] = -y1
            }
        } else {
            let (s0, s1, s2, s3) = (s, s + S, s + 2 * S, s + 3 * S)
            let (t0, t1, t2, t3, t4, t5) = (t, t + T, t + 2 * T, t + 3 * T, t + 4 * T, t + 5 * T)
            for i in 0..<count {
                let y0 = s0[i], y1 = s1[i], y2 = s2[i], y3 = s3[i]
                let even = y0 + y2, odd = y1 + y3, even4 = y0 + 4 * y2, odd4 = 2 * y1 + 8 * y3
                t0[i] = y0
                t1[i] = even + odd
                t2[i] = even - odd
                t3[i] = even4 + odd4
                t4[i] = even4 - odd4
                t5[i] = y3
            }
        }
    }

    // MARK: Winograd convolution

    /// Calls `body(xi)` for every tile position xi < `positions`, each doing one independent sgemm: the positions
    /// split over the Swift threads with OpenBLAS at one thread for the while (`BLAS.withOneThread`; never both, so
    /// the cores are not oversubscribed). Measured against one 2-thread sgemm after another: VGG-6 training
    /// 1.1-1.4x, inference 1.2-1.4x faster (docs/performance.md). Each product is OpenBLAS's one-thread product,
    /// which rounds differently from its 2-thread one, so results are repeatable at the same thread counts.
    @inline(__always)
    static func forEachPosition(_ positions: Int, _ body: (Int) -> Void) {
        guard BLAS.threadCount > 1, Parallel.threadCount > 1 else {
            for xi in 0..<positions { body(xi) }
            return
        }
        BLAS.withOneThread {
            Parallel.forRanges(positions) { range in for xi in range { body(xi) } }
        }
    }

    /// Images per Winograd chunk so that one tile buffer (alpha² x max(C, F) x tiles) fits `tileCapacity` Floats.
    public static func winogradChunk(channels: Int, filters: Int, height: Int, width: Int, batch: Int,
                                     transform: WinogradTransform, tileCapacity: Int) -> Int {
        let perImage = transform.imageTileFloats(channels: channels, filters: filters, height: height, width: width)
        precondition(tileCapacity >= perImage, "Winograd scratch of \(tileCapacity) Floats is below one image (\(perImage))")
        return max(1, min(batch, tileCapacity / perImage))
    }

    /// Per output channel f, ReLU(scale[f] * x + shift[f]): inference batch norm and ReLU, applied by the output
    /// transform as it writes (F values each); with `pooled`, followed by the 2 x 2 max-pool of the block, so the
    /// transform writes F x N x H/2 x W/2 (each m x m tile pools into its own (m/2) x (m/2) outputs; the same
    /// values as `maxPoolForward` on the unpooled output, without its argmax, which only a backward needs).
    public struct AffineReLU {
        public let scale: UnsafePointer<Float>, shift: UnsafePointer<Float>
        public let pooled: Bool
        public init(scale: UnsafePointer<Float>, shift: UnsafePointer<Float>, pooled: Bool = false) {
            self.scale = scale
            self.shift = shift
            self.pooled = pooled
        }
    }

    /// output (F x N x H x W) = conv3x3(input (C x N x H x W), weight (F x C x 3 x 3)) by Winograd, or with
    /// `affineReLU` that convolution through `AffineReLU`. Scratch: `u` (alpha² x F x C, the kernels' transforms are
    /// written there), `tilesV` and `tilesM` (`tileCapacity` Floats each, at least one image's tiles). With
    /// `keepInputTiles` (alpha² x C x tiles of the whole batch, `WinogradTransform.tileFloats` x C x N Floats), the
    /// input transforms are written there instead of `tilesV`, chunk after chunk, for the backward to reuse.
    public static func winogradConvolutionForward(input: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                                                  output: UnsafeMutablePointer<Float>,
                                                  channels: Int, filters: Int, batch: Int, height: Int, width: Int,
                                                  transform: WinogradTransform, u: UnsafeMutablePointer<Float>,
                                                  tilesV: UnsafeMutablePointer<Float>,
                                                  tilesM: UnsafeMutablePointer<Float>, tileCapacity: Int,
                                                  affineReLU: AffineReLU? = nil,
                                                  keepInputTiles: UnsafeMutablePointer<Float>? = nil) {
        winogradFilterTransform(weight: weight, filters: filters, channels: channels,
                                transform: transform, u: u)
        winogradConvolutionForward(input: input, transformedFilters: u, output: output, channels: channels,
                                   filters: filters, batch: batch, height: height, width: width, transform: transform,
                                   tilesV: tilesV, tilesM: tilesM, tileCapacity: tileCapacity, affineReLU: affineReLU,
                                   keepInputTiles: keepInputTiles)
    }

    /// The same convolution from kernels already transformed: `transformedFilters` (alpha² x F x C) holds
    /// `winogradFilterTransform` of the weight (as an inference cache keeps it) and is only read.
    public static func winogradConvolutionForward(input: UnsafePointer<Float>, transformedFilters: UnsafePointer<Float>,
                                                  output: UnsafeMutablePointer<Float>,
                                                  channels: Int, filters: Int, batch: Int, height: Int, width: Int,
                                                  transform: WinogradTransform,
                                                  tilesV: UnsafeMutablePointer<Float>,
                                                  tilesM: UnsafeMutablePointer<Float>, tileCapacity: Int,
                                                  affineReLU: AffineReLU? = nil,
                                                  keepInputTiles: UnsafeMutablePointer<Float>? = nil) {
        precondition(height % transform.m == 0 && width % transform.m == 0,
                     "Winograd F(\(transform.m)x\(transform.m)) needs map sides divisible by \(transform.m), got \(height)x\(width)")
        winogradProducts(input: input, inputChannels: channels, outputChannels: filters, batch: batch,
                         height: height, width: width, transform: transform, u: transformedFilters, tilesV: tilesV,
                         tilesM: tilesM, tileCapacity: tileCapacity, output: output, affineReLU: affineReLU,
                         keepInputTiles: keepInputTiles)
    }

    /// out (O x N x H x W) = the Winograd convolution of x (I x N x H x W) with the transformed kernels u
    /// (alpha² x O x I), chunk by chunk; the input transforms of the chunk from image `first` go to
    /// keepInputTiles + tileFloats x I x first when it is given, else to tilesV.
    private static func winogradProducts(input: UnsafePointer<Float>, inputChannels: Int, outputChannels: Int,
                                         batch: Int, height: Int, width: Int, transform: WinogradTransform,
                                         u: UnsafePointer<Float>, tilesV: UnsafeMutablePointer<Float>,
                                         tilesM: UnsafeMutablePointer<Float>, tileCapacity: Int,
                                         output: UnsafeMutablePointer<Float>, affineReLU: AffineReLU? = nil,
                                         keepInputTiles: UnsafeMutablePointer<Float>? = nil) {
        let chunk = winogradChunk(channels: inputChannels, filters: outputChannels, height: height, width: width,
                                  batch: batch, transform: transform, tileCapacity: tileCapacity)
        let tilesPerImage = (height / transform.m) * (width / transform.m)
        var first = 0
        while first < batch {
            let count = min(chunk, batch - first)
            let tiles = count * tilesPerImage
            let v = keepInputTiles.map { $0 + transform.positions * inputChannels * tilesPerImage * first } ?? tilesV
            winogradInputTransform(input: input, channels: inputChannels, batch: batch, height: height, width: width,
                                   first: first, count: count, transform: transform, v: v)
            forEachPosition(transform.positions) { xi in
                // M[xi] (O x T) = U[xi] (O x I) * V[xi] (I x T)
                BLAS.sgemm(m: outputChannels, n: tiles, k: inputChannels,
                           a: u + xi * outputChannels * inputChannels, b: v + xi * inputChannels * tiles,
                           c: tilesM + xi * outputChannels * tiles)
            }
            winogradOutputTransform(products: tilesM, filters: outputChannels, batch: batch, height: height,
                                    width: width, first: first, count: count, transform: transform, output: output,
                                    affineReLU: affineReLU)
            first += count
        }
    }

    /// The backward of `winogradConvolutionForward`: gradWeight (F x C x 3 x 3, overwritten) and, when
    /// `gradInput` is given, gradInput (C x N x H x W, overwritten), from gradOutput (F x N x H x W). Per chunk, the
    /// output gradient's transforms dM = A dY A^T serve both: dU[xi] += dM[xi] V[xi]^T for the weight gradient, and
    /// dV[xi] = U[xi]^T dM[xi] (U the forward's kernel transforms) for the input gradient, whose adjoint input
    /// transform then gives gradInput. Scratch: `u` (alpha² x F x C), `du` (alpha² x F x C), `tilesV`, `tilesM`
    /// (`tileCapacity` Floats each). `keptInputTiles`: the forward's `keepInputTiles` for the same input and
    /// batch, which spares the input transforms of the weight gradient.
    public static func winogradConvolutionBackward(input: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                                                   gradOutput: UnsafePointer<Float>,
                                                   gradWeight: UnsafeMutablePointer<Float>,
                                                   gradInput: UnsafeMutablePointer<Float>?,
                                                   channels: Int, filters: Int, batch: Int, height: Int, width: Int,
                                                   transform: WinogradTransform, u: UnsafeMutablePointer<Float>,
                                                   du: UnsafeMutablePointer<Float>,
                                                   tilesV: UnsafeMutablePointer<Float>,
                                                   tilesM: UnsafeMutablePointer<Float>, tileCapacity: Int,
                                                   keptInputTiles: UnsafePointer<Float>? = nil) {
        let chunk = winogradChunk(channels: channels, filters: filters, height: height, width: width, batch: batch,
                                  transform: transform, tileCapacity: tileCapacity)
        let tilesPerImage = (height / transform.m) * (width / transform.m)
        if gradInput != nil {
            winogradFilterTransform(weight: weight, filters: filters, channels: channels, transform: transform,
                                    u: u)
        }
        var first = 0
        while first < batch {
            let count = min(chunk, batch - first)
            let tiles = count * tilesPerImage
            winogradGradientTransform(gradOutput: gradOutput, filters: filters, batch: batch, height: height,
                                      width: width, first: first, count: count, transform: transform, dm: tilesM)
            let v: UnsafePointer<Float>
            if let keptInputTiles {
                v = keptInputTiles + transform.positions * channels * tilesPerImage * first
            } else {
                winogradInputTransform(input: input, channels: channels, batch: batch, height: height, width: width,
                                       first: first, count: count, transform: transform, v: tilesV)
                v = UnsafePointer(tilesV)
            }
            forEachPosition(transform.positions) { xi in
                // dU[xi] (F x C) (+)= dM[xi] (F x T) * V[xi]^T (T x C)
                BLAS.sgemm(.none, .transposed, m: filters, n: channels, k: tiles,
                           a: tilesM + xi * filters * tiles, b: v + xi * channels * tiles,
                           beta: first == 0 ? 0 : 1, c: du + xi * filters * channels)
            }
            if let gradInput {
                // V is used up: tilesV takes dV
                forEachPosition(transform.positions) { xi in
                    // dV[xi] (C x T) = U[xi]^T (C x F) * dM[xi] (F x T)
                    BLAS.sgemm(.transposed, .none, m: channels, n: tiles, k: filters,
                               a: u + xi * filters * channels, b: tilesM + xi * filters * tiles,
                               c: tilesV + xi * channels * tiles)
                }
                winogradInputGradientTransform(dv: tilesV, channels: channels, batch: batch, height: height,
                                               width: width, first: first, count: count, transform: transform,
                                               gradInput: gradInput)
            }
            first += count
        }
        winogradFilterGradient(du: du, filters: filters, channels: channels, transform: transform,
                               gradWeight: gradWeight)
    }
}

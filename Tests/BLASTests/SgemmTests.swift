import BLAS
import Testing

@Suite("sgemm against a naive loop")
struct SgemmTests {
    /// Deterministic values in [-1, 1) from a linear congruential sequence.
    static func values(_ count: Int, seed: UInt64) -> [Float] {
        var state = seed
        return (0..<count).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(state >> 40) / Float(1 << 23) - 1
        }
    }

    @Test("all four transpositions match the reference", arguments: [
        (BLAS.Transpose.none, BLAS.Transpose.none), (.transposed, .none), (.none, .transposed), (.transposed, .transposed),
    ])
    func matchesReference(transA: BLAS.Transpose, transB: BLAS.Transpose) {
        let (m, n, k) = (37, 29, 53)
        let a = Self.values(m * k, seed: 1)
        let b = Self.values(k * n, seed: 2)
        var c = [Float](repeating: .nan, count: m * n)
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                c.withUnsafeMutableBufferPointer { pc in
                    BLAS.sgemm(transA, transB, m: m, n: n, k: k,
                               a: pa.baseAddress!, b: pb.baseAddress!, c: pc.baseAddress!)
                }
            }
        }
        let expected = BLAS.referenceGemm(transA, transB, m: m, n: n, k: k, a: a, b: b)
        for i in 0..<(m * n) {
            #expect(abs(Double(c[i]) - expected[i]) < 1e-4, "element \(i)")
        }
    }

    @Test("beta accumulates into C")
    func accumulates() {
        let a: [Float] = [1, 2, 3, 4]   // 2 x 2
        let b: [Float] = [1, 0, 0, 1]   // identity
        var c: [Float] = [10, 10, 10, 10]
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                c.withUnsafeMutableBufferPointer { pc in
                    BLAS.sgemm(m: 2, n: 2, k: 2, alpha: 2, a: pa.baseAddress!, b: pb.baseAddress!, beta: 1, c: pc.baseAddress!)
                }
            }
        }
        #expect(c == [12, 14, 16, 18])
    }

    @Test("the OpenBLAS core is named")
    func coreName() {
        #expect(!BLAS.coreName.isEmpty)
        #expect(BLAS.threadCount >= 1)
    }
}

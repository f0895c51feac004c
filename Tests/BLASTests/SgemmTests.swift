import BLAS
import Foundation
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

@Suite("one-thread sections")
struct OneThreadSectionTests {
    /// A thread count guarded by its own lock, standing in for OpenBLAS's.
    final class Count: @unchecked Sendable {
        private let lock = NSLock()
        private var value: Int
        init(_ value: Int) { self.value = value }
        var current: Int { lock.withLock { value } }
        func set(_ newValue: Int) { lock.withLock { value = newValue } }
    }

    @Test("overlapping sections see 1 inside, whichever leaves first, and leave the count as it was")
    func overlappingSections() {
        // Four threads enter one after another, all stay inside until the last has entered, then leave in the order
        // they entered, each checking the count just before it leaves: the first to enter, which saw the count
        // before any section, leaves while the others are still inside.
        let count = Count(2)
        let sections = OneThreadSections(get: { count.current }, set: { count.set($0) })
        let threads = 4
        let entered = (0...threads).map { _ in DispatchSemaphore(value: 0) }
        let left = (0...threads).map { _ in DispatchSemaphore(value: 0) }
        let allInside = DispatchSemaphore(value: 0)
        let seenInside = Count(0), wrongInside = Count(0)
        entered[0].signal()
        left[0].signal()
        let done = DispatchGroup()
        for t in 0..<threads {
            done.enter()
            Thread {
                entered[t].wait()
                sections.run {
                    sections.run {}   // a nested section changes nothing
                    entered[t + 1].signal()
                    if t == threads - 1 { for _ in 0..<threads { allInside.signal() } }
                    allInside.wait()
                    left[t].wait()
                    seenInside.set(seenInside.current + 1)
                    if count.current != 1 { wrongInside.set(wrongInside.current + 1) }
                }
                left[t + 1].signal()
                done.leave()
            }.start()
        }
        done.wait()
        #expect(seenInside.current == threads)
        #expect(wrongInside.current == 0, "a section saw a count other than 1 before it left")
        #expect(count.current == 2)
    }

    /// (Restoring is the test above's; here another test's section may close meanwhile and restore the count.)
    @Test("the OpenBLAS count is 1 inside withOneThread")
    func openBLASSection() {
        BLAS.withOneThread { #expect(BLAS.threadCount == 1) }
    }
}

@Suite("a forced OpenBLAS core")
struct ForcedCoreWarningTests {
    let avx512: Set<String> = ["fma", "avx", "avx2", "avx512f", "avx512bw"]
    let avx2: Set<String> = ["fma", "avx", "avx2"]

    @Test("Haswell forced on an AVX-512 CPU is named, with the fix")
    func narrowerCoreWarns() throws {
        let warning = try #require(BLAS.forcedCoreWarning(coreTypeVariable: "Haswell", core: "Haswell", cpuFlags: avx512))
        #expect(warning.contains("OPENBLAS_CORETYPE=Haswell"))
        #expect(warning.contains("2x slower"))
        #expect(warning.contains("env -u OPENBLAS_CORETYPE"))
    }

    @Test("no warning when the variable is unset, or names a kernel as wide as the CPU's")
    func matchingCoreIsQuiet() {
        #expect(BLAS.forcedCoreWarning(coreTypeVariable: nil, core: "Haswell", cpuFlags: avx512) == nil)
        #expect(BLAS.forcedCoreWarning(coreTypeVariable: "", core: "Haswell", cpuFlags: avx512) == nil)
        #expect(BLAS.forcedCoreWarning(coreTypeVariable: "SkylakeX", core: "SkylakeX", cpuFlags: avx512) == nil)
        #expect(BLAS.forcedCoreWarning(coreTypeVariable: "Haswell", core: "Haswell", cpuFlags: avx2) == nil)
        #expect(BLAS.forcedCoreWarning(coreTypeVariable: "Zen", core: "Zen", cpuFlags: avx2) == nil)
    }

    @Test("an SSE-era kernel on an AVX2 CPU warns")
    func olderCoreOnAVX2Warns() {
        #expect(BLAS.forcedCoreWarning(coreTypeVariable: "Nehalem", core: "Nehalem", cpuFlags: avx2)?.contains("2x slower") == true)
    }
}

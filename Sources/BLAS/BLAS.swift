import COpenBLAS
import Foundation

/// Single-precision matrix products through OpenBLAS, on row-major buffers.
///
/// All matrices are dense and row-major; `lda`, `ldb`, `ldc` default to the row length.
public enum BLAS {
    /// Whether an operand is used as stored or transposed.
    public enum Transpose: Sendable {
        case none, transposed
        @usableFromInline var cblas: CBLAS_TRANSPOSE { self == .none ? CblasNoTrans : CblasTrans }
    }

    /// C (M x N) = alpha * op(A) (M x K) * op(B) (K x N) + beta * C.
    ///
    /// `a` holds A as stored: M x K when `transA == .none`, K x M when transposed (likewise B).
    @inlinable
    public static func sgemm(
        _ transA: Transpose = .none, _ transB: Transpose = .none,
        m: Int, n: Int, k: Int,
        alpha: Float = 1, a: UnsafePointer<Float>, lda: Int? = nil,
        b: UnsafePointer<Float>, ldb: Int? = nil,
        beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int? = nil
    ) {
        let lda = lda ?? (transA == .none ? k : m)
        let ldb = ldb ?? (transB == .none ? n : k)
        let ldc = ldc ?? n
        cblas_sgemm(CblasRowMajor, transA.cblas, transB.cblas,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// Naive triple-loop C = op(A) * op(B) in Double, the reference the tests hold `sgemm` to.
    public static func referenceGemm(
        _ transA: Transpose = .none, _ transB: Transpose = .none,
        m: Int, n: Int, k: Int, a: [Float], b: [Float]
    ) -> [Double] {
        var c = [Double](repeating: 0, count: m * n)
        for i in 0..<m {
            for j in 0..<n {
                var sum = 0.0
                for p in 0..<k {
                    let av = transA == .none ? a[i * k + p] : a[p * m + i]
                    let bv = transB == .none ? b[p * n + j] : b[j * k + p]
                    sum += Double(av) * Double(bv)
                }
                c[i * n + j] = sum
            }
        }
        return c
    }

    /// The OpenBLAS kernel in use (e.g. "SkylakeX", or "Haswell" when `OPENBLAS_CORETYPE` forces it).
    public static var coreName: String {
        guard let name = openblas_get_corename() else { return "unknown" }
        return String(cString: name)
    }

    /// A one-line warning when the environment variable `OPENBLAS_CORETYPE` forces OpenBLAS onto a kernel with
    /// narrower vectors than the CPU has (e.g. "Haswell", AVX2, on an AVX-512 machine: sgemm at about half speed);
    /// nil when the variable is unset or names a kernel as wide as the CPU's. `cpuFlags` are /proc/cpuinfo's flags.
    public static func forcedCoreWarning(coreTypeVariable: String?, core: String, cpuFlags: Set<String>) -> String? {
        guard let forced = coreTypeVariable, !forced.isEmpty else { return nil }
        let cpuWidth = cpuFlags.contains("avx512f") ? 512 : cpuFlags.contains("avx2") ? 256 : 128
        let avx512Cores: Set<String> = ["skylakex", "cooperlake", "sapphirerapids"]
        let avx2Cores: Set<String> = ["haswell", "zen"]
        let coreWidth = avx512Cores.contains(core.lowercased()) ? 512 : avx2Cores.contains(core.lowercased()) ? 256 : 128
        guard coreWidth < cpuWidth else { return nil }
        return "warning: OPENBLAS_CORETYPE=\(forced) forces OpenBLAS's \(core) kernel (\(coreWidth)-bit vectors) on a CPU "
            + "with \(cpuWidth)-bit vectors: matrix products run up to \(cpuWidth / coreWidth)x slower; unset it "
            + "(env -u OPENBLAS_CORETYPE ...) to let OpenBLAS choose"
    }

    /// `forcedCoreWarning` for this process: its environment, the kernel in use and this machine's CPU flags.
    public static var forcedCoreWarningForThisProcess: String? {
        forcedCoreWarning(coreTypeVariable: ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"], core: coreName,
                          cpuFlags: Set(cpuFlags ?? []))
    }

    /// The CPU's feature flags in /proc/cpuinfo's order (e.g. "fma", "avx2", "avx512f"); nil where it cannot be read.
    public static var cpuFlags: [String]? {
        guard let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let line = info.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) else { return nil }
        return line.split(separator: " ").map(String.init)
    }

    /// The OpenBLAS build configuration string (version and options).
    public static var configuration: String {
        guard let config = openblas_get_config() else { return "unknown" }
        return String(cString: config)
    }

    /// Threads OpenBLAS uses for one call: a process-wide setting. OpenBLAS 0.3.21 rounds a product differently at
    /// 1 and at 2 threads (every product large enough to split that was tried, docs/performance.md), so a result
    /// repeats only at the same count.
    public static var threadCount: Int {
        get { Int(openblas_get_num_threads()) }
        set { openblas_set_num_threads(Int32(newValue)) }
    }

    /// Runs `body` with OpenBLAS at one thread, for callers that split independent products over their own threads,
    /// then restores the count. Sections may nest and overlap across threads (see `OneThreadSections`). While any
    /// section runs, every product in the process, also one outside the section, runs at one thread.
    public static func withOneThread<Result>(_ body: () throws -> Result) rethrows -> Result {
        try openBLASSections.run(body)
    }

    static let openBLASSections = OneThreadSections(
        get: { Int(openblas_get_num_threads()) }, set: { openblas_set_num_threads(Int32($0)) })
}

/// Sections that need a process-wide thread count at 1: the first to enter saves the count and sets 1, the last to
/// leave restores it, under a lock, so sections that overlap across threads never leave the count at 1.
public final class OneThreadSections: @unchecked Sendable {
    private let lock = NSLock()
    private let get: @Sendable () -> Int, set: @Sendable (Int) -> Void
    private var open = 0, savedCount = 1

    /// `get` and `set` read and write the count the sections guard.
    public init(get: @escaping @Sendable () -> Int, set: @escaping @Sendable (Int) -> Void) {
        self.get = get
        self.set = set
    }

    /// Runs `body` inside a section.
    public func run<Result>(_ body: () throws -> Result) rethrows -> Result {
        lock.withLock {
            if open == 0 { savedCount = get(); set(1) }
            open += 1
        }
        defer {
            lock.withLock {
                open -= 1
                if open == 0 { set(savedCount) }
            }
        }
        return try body()
    }
}

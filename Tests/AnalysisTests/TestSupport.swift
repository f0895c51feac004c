import Analysis

/// Deterministic pseudo-random numbers for the tests (a 64-bit linear congruential sequence).
struct SeededValues {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    /// A value uniform in [-1, 1).
    mutating func next() -> Float {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return Float(state >> 40) / Float(1 << 23) - 1
    }

    /// `count` values uniform in [-1, 1).
    mutating func values(_ count: Int) -> [Float] { (0..<count).map { _ in next() } }

    /// `count` labels uniform in 0..<labelCount.
    mutating func labels(_ count: Int, labelCount: Int) -> [Int32] {
        (0..<count).map { _ in Int32(min(Int((next() + 1) / 2 * Float(labelCount)), labelCount - 1)) }
    }
}

/// Whether `actual` is within `relative` of `expected`, measured against max(|expected|, `scale`); NaN matches NaN.
func isClose(_ actual: Double, _ expected: Double, relative: Double = 1e-5, scale: Double = 0) -> Bool {
    if expected.isNaN { return actual.isNaN }
    if expected.isInfinite { return actual == expected }
    return abs(actual - expected) <= relative * max(abs(expected), scale)
}

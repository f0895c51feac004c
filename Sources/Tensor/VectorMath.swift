/// Vectorised reductions over contiguous Float arrays (SIMD16 accumulators: the compiler does not reorder
/// scalar Float sums by itself, so plain loops would not vectorise).
public enum VectorMath {
    /// The number of lanes each SIMD step handles.
    public static let lanes = 16

    /// Sum of `x[0 ..< count]`.
    @inlinable
    public static func sum(_ x: UnsafePointer<Float>, count: Int) -> Float {
        var accumulator = SIMD16<Float>()
        var i = 0
        let raw = UnsafeRawPointer(x)
        while i + 16 <= count {
            accumulator += raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self)
            i += 16
        }
        var total = accumulator.sum()
        while i < count { total += x[i]; i += 1 }
        return total
    }

    /// Sum of `(x[i] - center)^2` over `0 ..< count`.
    @inlinable
    public static func sumOfSquaredDeviations(_ x: UnsafePointer<Float>, count: Int, center: Float) -> Float {
        var accumulator = SIMD16<Float>()
        let c = SIMD16<Float>(repeating: center)
        var i = 0
        let raw = UnsafeRawPointer(x)
        while i + 16 <= count {
            let d = raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self) - c
            accumulator += d * d
            i += 16
        }
        var total = accumulator.sum()
        while i < count { let d = x[i] - center; total += d * d; i += 1 }
        return total
    }

    /// Dot product of `x[0 ..< count]` and `y[0 ..< count]`.
    @inlinable
    public static func dot(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, count: Int) -> Float {
        var accumulator = SIMD16<Float>()
        var i = 0
        let rx = UnsafeRawPointer(x), ry = UnsafeRawPointer(y)
        while i + 16 <= count {
            accumulator += rx.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self)
                * ry.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self)
            i += 16
        }
        var total = accumulator.sum()
        while i < count { total += x[i] * y[i]; i += 1 }
        return total
    }
}

/// An owned, zero-initialised buffer of `count` Floats, 64-byte aligned (one cache line, one AVX-512 vector).
///
/// The memory is freed in `deinit`. It is `@unchecked Sendable` so that loops split over threads can share it:
/// the callers keep concurrent writes to disjoint ranges.
public final class FloatBuffer: @unchecked Sendable {
    /// Number of Floats in the buffer.
    public let count: Int
    /// The first element; valid while the buffer lives (the buffer owns the memory: never deallocate it).
    public let pointer: UnsafeMutablePointer<Float>

    /// Allocates `count` Floats (at least one byte is allocated when `count` is 0), all zero.
    public init(count: Int) {
        precondition(count >= 0, "FloatBuffer count must be non-negative, got \(count)")
        self.count = count
        let raw = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1) * MemoryLayout<Float>.stride, alignment: 64)
        pointer = raw.bindMemory(to: Float.self, capacity: max(count, 1))
        pointer.initialize(repeating: 0, count: max(count, 1))
    }

    /// Copies `values` into a new buffer of the same count.
    public convenience init(_ values: [Float]) {
        self.init(count: values.count)
        values.withUnsafeBufferPointer { pointer.update(from: $0.baseAddress!, count: values.count) }
    }

    deinit { UnsafeMutableRawPointer(pointer).deallocate() }

    /// Sets every element to 0.
    public func zero() { pointer.update(repeating: 0, count: count) }

    /// Element `i` (0 ..< count; checked in debug builds only).
    public subscript(i: Int) -> Float {
        get { assert(i >= 0 && i < count, "index \(i) out of 0..<\(count)"); return pointer[i] }
        set { assert(i >= 0 && i < count, "index \(i) out of 0..<\(count)"); pointer[i] = newValue }
    }

    /// A copy of the contents.
    public var array: [Float] { Array(UnsafeBufferPointer(start: pointer, count: count)) }

    /// The whole buffer as a mutable buffer pointer (valid while the buffer lives).
    public var bufferPointer: UnsafeMutableBufferPointer<Float> { UnsafeMutableBufferPointer(start: pointer, count: count) }
}

/// An owned, zero-initialised buffer of `count` Int32 (labels, max-pool argmax indices); freed in `deinit`, shared
/// across threads like `FloatBuffer`.
public final class Int32Buffer: @unchecked Sendable {
    /// Number of Int32 in the buffer.
    public let count: Int
    /// The first element; valid while the buffer lives (the buffer owns the memory: never deallocate it).
    public let pointer: UnsafeMutablePointer<Int32>

    /// Allocates `count` Int32 (at least one when `count` is 0), all zero.
    public init(count: Int) {
        precondition(count >= 0, "Int32Buffer count must be non-negative, got \(count)")
        self.count = count
        pointer = .allocate(capacity: max(count, 1))
        pointer.initialize(repeating: 0, count: max(count, 1))
    }

    deinit { pointer.deallocate() }
}

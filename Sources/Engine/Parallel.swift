import Dispatch

/// Splits the engine's own (non-BLAS) loops over a few threads with `DispatchQueue.concurrentPerform`.
public enum Parallel {
    /// Threads for the Swift loops (1 = run inline). Defaults to the machine's active processor count, at most 8.
    nonisolated(unsafe) public static var threadCount = min(8, max(1, _activeProcessors()))

    /// Runs `body` over contiguous ranges covering 0 ..< count, on up to `threadCount` threads; a range holds at
    /// least `grain` items, so small loops stay on the calling thread. `body` must write disjoint memory per range.
    @inlinable
    public static func forRanges(_ count: Int, grain: Int = 1, _ body: (Range<Int>) -> Void) {
        let threads = min(threadCount, count / max(grain, 1))
        if threads <= 1 { body(0..<count); return }
        withoutActuallyEscaping(body) { body in
            let shared = UncheckedSendable(body)   // the caller guarantees disjoint writes
            DispatchQueue.concurrentPerform(iterations: threads) { t in
                shared.value((count * t / threads)..<(count * (t + 1) / threads))
            }
        }
    }
}

/// Carries a value that is not Sendable into `concurrentPerform`, whose callers keep the accesses disjoint.
@usableFromInline struct UncheckedSendable<Value>: @unchecked Sendable {
    @usableFromInline let value: Value
    @usableFromInline init(_ value: Value) { self.value = value }
}

#if canImport(Glibc)
import Glibc
/// The number of processors this process may run on.
@usableFromInline func _activeProcessors() -> Int { Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))) }
#else
import Foundation
@usableFromInline func _activeProcessors() -> Int { ProcessInfo.processInfo.activeProcessorCount }
#endif

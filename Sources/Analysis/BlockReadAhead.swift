import Foundation
import RunStore

/// Reads one layer's block outputs from `activations.h5` a batch ahead, on a thread of its own, so that reading and
/// inflating batch k + 1 overlaps the analysis of batch k.
///
/// Batches are images [k * batchSize, min((k + 1) * batchSize, N)), in order, each batch x C x H x W floats
/// (row-major) in one of two buffers that take turns: the batch `next()` returns stays valid until the following
/// call. The reader is used only by the read-ahead thread until `finish()`, which the caller must call (the thread
/// keeps this object alive until then).
final class BlockReadAhead: @unchecked Sendable {
    /// One read batch: where it starts, how many images, and the error if reading it failed.
    private struct Slot {
        var start = 0, batch = 0
        var error: RunStoreError?
    }

    private let activations: ActivationsReader
    private let layer: Int, batchSize: Int, imageFloats: Int
    private let buffers: [UnsafeMutableBufferPointer<Float>]
    /// What each buffer holds; written by the read-ahead thread, read by the caller, handed over by the semaphores
    /// (a pointer, not an array property, so the two threads never access one Swift variable at once).
    private let slots: UnsafeMutablePointer<Slot>
    /// Signalled when buffer i is free to fill (`empty`) and when it holds a read batch (`full`).
    private let empty = [DispatchSemaphore(value: 1), DispatchSemaphore(value: 1)]
    private let full = [DispatchSemaphore(value: 0), DispatchSemaphore(value: 0)]
    private let done = DispatchSemaphore(value: 0)
    private let stopLock = NSLock()
    private var stopped = false
    private var taken = 0
    private var finished = false

    /// Starts reading layer `layer` (block outputs of `shape`) of `activations` in batches of `batchSize` images.
    init(activations: ActivationsReader, layer: Int, shape: BlockShape, batchSize: Int) {
        precondition(batchSize > 0, "batches hold at least one image")
        self.activations = activations
        self.layer = layer
        self.batchSize = batchSize
        imageFloats = shape.count
        buffers = (0..<2).map { _ in
            let buffer = UnsafeMutableBufferPointer<Float>.allocate(capacity: batchSize * shape.count)
            buffer.initialize(repeating: 0)
            return buffer
        }
        slots = .allocate(capacity: 2)
        slots.initialize(repeating: Slot(), count: 2)
        // The thread holds this object until it ends: callers end it with `finish()`.
        let thread = Thread { [self] in produce() }
        thread.name = "FilterLens read-ahead"
        thread.start()
    }

    deinit {
        finish()
        buffers.forEach { $0.deallocate() }
        slots.deinitialize(count: 2)
        slots.deallocate()
    }

    private var isStopped: Bool {
        stopLock.lock(); defer { stopLock.unlock() }
        return stopped
    }

    /// The read-ahead thread: fills the buffers in turn until every image is read, a read fails, or `finish()`.
    private func produce() {
        var start = 0, index = 0
        while start < activations.count {
            let slot = index % 2
            empty[slot].wait()
            if isStopped { break }
            let batch = min(batchSize, activations.count - start)
            slots[slot] = Slot(start: start, batch: batch)
            do {
                try activations.read(layer: layer, start: start, batch: batch, into: buffers[slot])
            } catch {
                slots[slot].error = error
            }
            let failed = slots[slot].error != nil
            full[slot].signal()
            if failed { break }
            start += batch
            index += 1
        }
        done.signal()
    }

    /// The next batch: its first image, its images, and its values (valid until the next call); nil after the last.
    /// Throws the error of a batch that could not be read.
    func next() throws(RunStoreError) -> (start: Int, batch: Int, values: UnsafeBufferPointer<Float>)? {
        if taken > 0 { empty[(taken - 1) % 2].signal() }
        guard taken * batchSize < activations.count else { return nil }
        let slot = taken % 2
        full[slot].wait()
        taken += 1
        if let error = slots[slot].error { throw error }
        let read = slots[slot]
        return (read.start, read.batch, UnsafeBufferPointer(rebasing: buffers[slot][0..<(read.batch * imageFloats)]))
    }

    /// Stops reading ahead and waits for the read-ahead thread to end (after the batch it is reading, if any).
    func finish() {
        guard !finished else { return }
        finished = true
        stopLock.lock()
        stopped = true
        stopLock.unlock()
        empty.forEach { $0.signal() }
        done.wait()
    }
}

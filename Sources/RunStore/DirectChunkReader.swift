import Deflate
import Dispatch
import Foundation
import HDF5

/// Reads blocks of images from one N x C x H x W float32 dataset whose chunks hold whole images (chunk shape
/// k x C x H x W) and whose filter pipeline is exactly shuffle (4-byte elements) then deflate: the layout
/// `ActivationsWriter` gives every `/layerNN` of `activations.h5`.
///
/// Instead of HDF5's filter pipeline (one core, zlib), each chunk is read as stored (`H5Dread_chunk`, under the
/// HDF5 module's lock), inflated with libdeflate and unshuffled in Swift, straight into the caller's buffer; the
/// chunks of one block are shared among `workerCount` threads, so one thread reads the next chunk from the file
/// while the others inflate. Chunk c holds images c*k ..< min((c+1)*k, N), stored row-major as k x C x H x W
/// float32 (the last chunk is padded to k images). The chunk a block ends inside of is kept inflated, so the
/// block that continues it does not inflate it again.
///
/// The values are the bytes HDF5 would give: the test suite compares both paths bit for bit. A chunk that does not
/// inflate to exactly k x C x H x W x 4 bytes, or fails libdeflate's checks (Adler-32 included), is an error, as
/// is any HDF5 failure; a block with a chunk never written (HDF5 gives the fill value there) is left to HDF5
/// (`read` returns false).
///
/// Thread safety: one `read` at a time (like `H5Dataset`).
final class DirectChunkReader: @unchecked Sendable {
    /// The dataset.
    let dataset: H5Dataset
    /// The file's path, for errors.
    let filePath: String
    /// Images N (the first extent).
    let images: Int
    /// Floats per image, C x H x W.
    let imageFloats: Int
    /// Images per chunk, k.
    let imagesPerChunk: Int
    /// Bytes of an inflated, unshuffled chunk: k x C x H x W x 4.
    let chunkBytes: Int
    /// Threads that read and inflate chunks (at least 1).
    let workerCount: Int

    /// Per thread: the stored bytes of a chunk, its inflated bytes, and a decompressor.
    private let workers: [ChunkWorker]
    /// Two inflated chunks: the one the last block ended inside of (`keptChunk`, in slot `keptSlot`) and room for
    /// the next one.
    private let kept: [UnsafeMutableRawBufferPointer]
    private var keptChunk: Int?
    private var keptSlot = 0

    /// The reader for `dataset`, or nil when its layout is not exactly the one described above (a file written by
    /// another tool, or another filter, element type or chunk shape): read those through HDF5.
    init?(dataset: H5Dataset, filePath: String, workerCount: Int) {
        let shape = dataset.shape
        guard shape.count == 4, shape.allSatisfy({ $0 > 0 }), let chunk = dataset.chunkShape, chunk.count == 4,
              chunk[0] > 0, Array(chunk[1...]) == Array(shape[1...]), dataset.storesExactly(Float.self),
              let filters = try? dataset.filters(), filters.count == 2,
              filters[0].id == H5Filter.shuffleID, filters[0].parameters.first.map({ $0 == 4 }) ?? false,
              filters[1].id == H5Filter.deflateID else { return nil }
        let imageFloats = shape[1] * shape[2] * shape[3]
        let (chunkBytes, overflow) = chunk[0].multipliedReportingOverflow(by: imageFloats * 4)
        guard !overflow, chunkBytes <= 1 << 30 else { return nil }
        var workers: [ChunkWorker] = []
        for _ in 0..<max(1, workerCount) {
            guard let worker = try? ChunkWorker(chunkBytes: chunkBytes) else { return nil }
            workers.append(worker)
        }
        self.dataset = dataset
        self.filePath = filePath
        images = shape[0]
        self.imageFloats = imageFloats
        imagesPerChunk = chunk[0]
        self.chunkBytes = chunkBytes
        self.workerCount = workers.count
        self.workers = workers
        kept = (0..<2).map { _ in .allocate(byteCount: chunkBytes, alignment: 64) }
    }

    deinit { kept.forEach { $0.deallocate() } }

    /// The most stored bytes a chunk may take: deflate's worst-case growth of incompressible data is far below
    /// this; a larger size in the chunk index is damage.
    fileprivate var maxStoredBytes: Int { chunkBytes + chunkBytes / 8 + 4096 }

    /// Reads images [start, start + batch) into `buffer` (batch x C x H x W floats, row-major). Returns false,
    /// having read nothing, when a chunk of the block was never written (or the range is not inside the dataset):
    /// the caller reads the block through HDF5 instead. Throws the first failing chunk's error (in image order).
    func read(start: Int, batch: Int, into buffer: UnsafeMutableBufferPointer<Float>) throws(RunStoreError) -> Bool {
        guard start >= 0, batch > 0, start <= images - batch, buffer.count >= batch * imageFloats,
              let destination = UnsafeMutableRawPointer(buffer.baseAddress) else { return false }
        let end = start + batch
        let firstChunk = start / imagesPerChunk, lastChunk = (end - 1) / imagesPerChunk
        // The next block, starting at `end`, begins inside the last chunk: keep that one inflated.
        let keepLast = min((lastChunk + 1) * imagesPerChunk, images) > end
        let readSlot = keptSlot, writeSlot = 1 - keptSlot
        let reuse = keptChunk
        keptChunk = nil
        let plan = BlockPlan(firstChunk: firstChunk, lastChunk: lastChunk)
        let threads = min(workerCount, lastChunk - firstChunk + 1)
        let shared = UncheckedShared(self, destination)
        let work: @Sendable (Int) -> Void = { worker in
            let (reader, destination) = (shared.reader, shared.destination)
            while let chunk = plan.take() {
                do throws(RunStoreError) {
                    let inflated: UnsafeRawPointer
                    if chunk == reuse {
                        inflated = UnsafeRawPointer(reader.kept[readSlot].baseAddress!)
                    } else {
                        let keep = chunk == lastChunk && keepLast
                        let target = keep ? reader.kept[writeSlot] : reader.workers[worker].inflated
                        guard try reader.workers[worker].decode(reader, chunk: chunk, into: target) else {
                            plan.unwritten()
                            return
                        }
                        inflated = UnsafeRawPointer(target.baseAddress!)
                    }
                    let chunkStart = chunk * reader.imagesPerChunk
                    let from = max(start, chunkStart), to = min(end, chunkStart + reader.imagesPerChunk)
                    let elements = ((from - chunkStart) * reader.imageFloats)..<((to - chunkStart) * reader.imageFloats)
                    H5Shuffle.unshuffle(inflated, byteCount: reader.chunkBytes, elementSize: 4, elements: elements,
                                        into: destination + (from - start) * reader.imageFloats * 4)
                } catch {
                    plan.fail(chunk: chunk, error)
                }
            }
        }
        if threads <= 1 { work(0) } else { DispatchQueue.concurrentPerform(iterations: threads, execute: work) }
        if let failure = plan.failure { throw failure }
        guard !plan.sawUnwritten else { return false }
        if keepLast {
            keptChunk = lastChunk
            keptSlot = lastChunk == reuse ? readSlot : writeSlot
        }
        return true
    }

    /// Where errors point: the file and the dataset.
    /// The error of chunk `chunk` for `problem`, in the words of a failed HDF5 read of the dataset:
    /// "<file>/layerNN: cannot read dataset block: chunk of images a...b: <problem>; <fix>".
    fileprivate func error(chunk: Int, _ problem: String) -> RunStoreError {
        let first = chunk * imagesPerChunk, last = min(first + imagesPerChunk, images) - 1
        let error = HDF5Error(operation: "read dataset block", path: filePath + dataset.name,
                              message: "chunk of images \(first)...\(last): \(problem)")
        return RunStoreError(error, fix: ActivationsReader.damagedFix)
    }
}

/// One thread's buffers: the stored bytes of a chunk (grown as needed), its inflated bytes, and a decompressor.
private final class ChunkWorker {
    var stored: [UInt8] = []
    let inflated: UnsafeMutableRawBufferPointer
    let inflater: Inflater

    init(chunkBytes: Int) throws(DeflateError) {
        inflater = try Inflater()
        inflated = .allocate(byteCount: chunkBytes, alignment: 64)
    }

    deinit { inflated.deallocate() }

    /// Reads chunk `chunk` as stored and inflates it into `target` (exactly `reader.chunkBytes`, still shuffled);
    /// a chunk whose filter mask says deflate was skipped is copied. Returns false, leaving the chunk to HDF5, for a
    /// chunk never written or one stored unshuffled (its mask says shuffle was skipped: HDF5 never skips it when it
    /// writes, but the format allows it).
    func decode(_ reader: DirectChunkReader, chunk: Int, into target: UnsafeMutableRawBufferPointer) throws(RunStoreError) -> Bool {
        let raw: H5RawChunk
        do {
            guard let read = try reader.dataset.readRawChunk(at: [chunk * reader.imagesPerChunk, 0, 0, 0], into: &stored,
                                                             maxBytes: reader.maxStoredBytes)
            else { return false }
            raw = read
        } catch {
            throw RunStoreError(error, fix: ActivationsReader.damagedFix)
        }
        guard raw.applied(filter: 0) else { return false }
        let inflater = self.inflater
        let failure: RunStoreError? = stored.withUnsafeBytes { bytes in
            let storedBytes = UnsafeRawBufferPointer(rebasing: bytes[0..<raw.byteCount])
            if raw.applied(filter: 1) {
                do throws(DeflateError) {
                    try inflater.inflateZlib(storedBytes, into: target)
                } catch {
                    return reader.error(chunk: chunk, error.description)
                }
            } else if storedBytes.count == target.count {
                target.copyMemory(from: storedBytes)
            } else {
                return reader.error(chunk: chunk, "stored without deflate in \(storedBytes.count) bytes, expected \(target.count)")
            }
            return nil
        }
        if let failure { throw failure }
        return true
    }
}

/// The chunks of one block, handed out in ascending order to the threads, and how the block went.
private final class BlockPlan: @unchecked Sendable {
    private let lock = NSLock()
    private var next: Int
    private let last: Int
    private var failed: (chunk: Int, error: RunStoreError)?
    private var unwrittenSeen = false

    init(firstChunk: Int, lastChunk: Int) {
        next = firstChunk
        last = lastChunk
    }

    /// The next chunk to do, or nil when none is left or the block has failed.
    func take() -> Int? {
        lock.lock(); defer { lock.unlock() }
        guard next <= last, failed == nil, !unwrittenSeen else { return nil }
        next += 1
        return next - 1
    }

    /// Records the failure of `chunk`; the earliest failing chunk's error is the block's.
    func fail(chunk: Int, _ error: RunStoreError) {
        lock.lock(); defer { lock.unlock() }
        if failed.map({ chunk < $0.chunk }) ?? true { failed = (chunk, error) }
    }

    /// Records a chunk that was never written.
    func unwritten() {
        lock.lock(); defer { lock.unlock() }
        unwrittenSeen = true
    }

    var failure: RunStoreError? {
        lock.lock(); defer { lock.unlock() }
        return failed?.error
    }

    var sawUnwritten: Bool {
        lock.lock(); defer { lock.unlock() }
        return unwrittenSeen
    }
}

/// The reader and the destination of one block, carried into `concurrentPerform`: the threads use different
/// workers and write disjoint images of the destination.
private struct UncheckedShared: @unchecked Sendable {
    let reader: DirectChunkReader
    let destination: UnsafeMutableRawPointer
    init(_ reader: DirectChunkReader, _ destination: UnsafeMutableRawPointer) {
        self.reader = reader
        self.destination = destination
    }
}

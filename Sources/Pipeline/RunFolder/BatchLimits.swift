import Engine
import Foundation

/// A phase 1 batch that the training set or the machine's memory cannot hold, refused before anything is allocated.
/// The command line names the flag (`--batch`).
public struct BatchTooLarge: Error, CustomStringConvertible, Equatable {
    /// Why the batch cannot be trained.
    public enum Reason: Sendable, Equatable {
        /// The training set holds fewer images than one batch.
        case trainingSet(images: Int)
        /// The network's buffers at this batch need `needed` bytes, more than the `available` ones.
        case memory(needed: Int, available: Int)
    }

    /// The batch asked for.
    public let batch: Int
    public let reason: Reason
    /// The largest batch that fits (0: not even one image does).
    public let largestFitting: Int

    public var description: String {
        switch reason {
        case .trainingSet(let images):
            return "a batch of \(batch) images is larger than the \(images) training images"
        case .memory(let needed, let available):
            return String(format: "a batch of %d images needs %.1f GB for the network's activations, gradients and scratch, "
                          + "and %.1f GB of memory are available", batch, Double(needed) / 1e9, Double(available) / 1e9)
        }
    }
}

/// What a batch may be on this machine: the memory available to this process and the check phase 1 makes before
/// it allocates a network.
public enum BatchLimits {
    /// Bytes this process can still allocate: the kernel's MemAvailable (/proc/meminfo), and under an address-space
    /// limit (`ulimit -v`) what is left of it beside the process's present virtual size; nil where neither is known.
    public static func availableBytes() -> Int? {
        var available: Int?
        if let meminfo = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8) {
            available = kibibytes(named: "MemAvailable:", in: meminfo).map { $0 * 1024 }
        }
        var limit = rlimit()
        if getrlimit(Int32(RLIMIT_AS.rawValue), &limit) == 0, limit.rlim_cur != rlim_t.max,
           let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
           let virtual = kibibytes(named: "VmSize:", in: status) {
            let left = max(Int(clamping: limit.rlim_cur) - virtual * 1024, 0)
            available = min(available ?? left, left)
        }
        return available
    }

    private static func kibibytes(named key: String, in text: String) -> Int? {
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix(key) }) else { return nil }
        return line.split(separator: " ").dropFirst().first.flatMap { Int($0) }
    }

    /// Refuses a batch larger than the `images` training images, or whose network (`Network.bytesNeeded`) would not
    /// fit in `available` bytes (default: `availableBytes()`, keeping an eighth of it for the data and the libraries).
    public static func check(batch: Int, images: Int, architecture: Architecture, algorithms: [ConvolutionAlgorithm]?,
                             available: Int? = BatchLimits.availableBytes()) throws(BatchTooLarge) {
        if batch > images {
            throw BatchTooLarge(batch: batch, reason: .trainingSet(images: images), largestFitting: images)
        }
        guard let available else { return }
        let usable = available - available / 8
        let needed = Network.bytesNeeded(architecture: architecture, maxBatch: batch, algorithms: algorithms)
        if needed > usable {
            let largest = Network.largestBatch(architecture: architecture, fitting: usable, upTo: batch, algorithms: algorithms)
            throw BatchTooLarge(batch: batch, reason: .memory(needed: needed, available: available), largestFitting: largest)
        }
    }
}

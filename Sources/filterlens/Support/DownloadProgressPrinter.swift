import CIFAR
import Foundation

extension String {
    /// The string right-aligned in `width` characters.
    func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}

/// Prints a download's progress to standard error: bytes, percent, rate and ETA, at most twice a second on a
/// terminal and every 10 s in a log.
final class DownloadProgressPrinter: @unchecked Sendable {
    private let lock = NSLock()
    private var lastPrint = Date.distantPast
    private var printedAny = false
    private let terminal = isatty(STDERR_FILENO) != 0
    private let interval: Double

    init() {
        interval = Double(ProcessInfo.processInfo.environment["FILTERLENS_PROGRESS_SECONDS"] ?? "") ?? (isatty(STDERR_FILENO) != 0 ? 0.5 : 10)
    }

    func show(_ progress: Download.Progress) {
        lock.withLock {
            let complete = progress.expected.map { progress.received >= $0 } ?? false
            guard complete || Date().timeIntervalSince(lastPrint) >= interval else { return }
            lastPrint = Date()
            printedAny = true
            let size = { (bytes: Int64) in ByteCountFormatter.string(fromByteCount: bytes, countStyle: .file) }
            var line = "  download \(size(progress.received))"
            if let expected = progress.expected {
                line += String(format: " of %@  %5.1f%%", size(expected), 100 * Double(progress.received) / Double(max(expected, 1)))
            }
            line += "  \(size(Int64(progress.rate)))/s  ETA \(ProgressPrinter.duration(progress.secondsLeft))"
            FileHandle.standardError.write(Data((terminal ? "\r" + line : line + "\n").utf8))
        }
    }

    /// Ends the progress line on a terminal.
    func finish() {
        lock.withLock {
            if terminal && printedAny { FileHandle.standardError.write(Data("\n".utf8)) }
        }
    }
}

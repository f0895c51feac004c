import Foundation
import Synchronization

/// Ctrl-C (SIGINT) and SIGTERM handling.
///
/// Every file FilterLens writes goes to a temporary name and is renamed into place when complete, so stopping at
/// any moment leaves complete files. Phases 1 and 2 go further: while they train, the first signal asks them to
/// stop after the current batch, save a checkpoint and exit with status 130; `--resume` then continues exactly
/// where they stopped. A second signal, or a signal anywhere else, exits at once (130).
enum Interruption {
    /// Installs the SIGINT and SIGTERM handlers.
    static func install() {
        // A parent may start us with these signals blocked (some process launchers do): unblock them.
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGINT)
        sigaddset(&set, SIGTERM)
        sigprocmask(SIG_UNBLOCK, &set, nil)
        for sig in [SIGINT, SIGTERM] {
            signal(sig) { _ in
                // Only async-signal-safe work here: atomics, write(2), _exit(2).
                if stopAfterBatchEnabled.load(ordering: .relaxed) && !stopRequested.exchange(true, ordering: .relaxed) {
                    let message = "\ninterrupted: stopping after this batch to save a checkpoint (interrupt again to stop at once)\n"
                    message.withCString { _ = write(STDERR_FILENO, $0, strlen($0)) }
                    return
                }
                let message = "\ninterrupted: files on disk are complete; `filterlens run --resume --out RUN` continues from the last checkpoint\n"
                message.withCString { _ = write(STDERR_FILENO, $0, strlen($0)) }
                _exit(130)
            }
        }
    }

    /// Runs `body` with stop-after-batch enabled: a first signal then only sets `isStopRequested`, which the
    /// training loop polls after every batch.
    static func stoppingAfterBatch<T>(_ body: () throws -> T) rethrows -> T {
        stopAfterBatchEnabled.store(true, ordering: .relaxed)
        defer { stopAfterBatchEnabled.store(false, ordering: .relaxed) }
        return try body()
    }

    /// Whether a signal asked the training loop to stop.
    static var isStopRequested: Bool { stopRequested.load(ordering: .relaxed) }

    /// The command that continues an interrupted `phase` ("train" or "probe") of the run in `directory`: the
    /// invoking `filterlens run` when that is what runs, else the phase's own command.
    static func resumeHint(phase: String, directory: URL) -> String {
        let invoked = CommandLine.arguments.dropFirst().first ?? phase
        let command = invoked == "run" ? "filterlens run --resume --out \(directory.path)"
            : phase == "train" ? "filterlens train --resume --out \(directory.path)"
            : "filterlens \(phase) --resume \(directory.path)"
        return "`\(command)` (with the same flags) continues"
    }

    /// Ends the command with `StoppedAfterSaving(message)` if a signal asked to stop (one that arrived after the
    /// last batch of an epoch or phase, when no loop polls any more).
    static func stopIfRequested(_ message: @autoclosure () -> String) throws {
        if isStopRequested { throw StoppedAfterSaving(description: message()) }
    }

    /// Removes temporary files a killed run left in `directory` (".<name>.tmp-<pid>" of a process that no longer runs).
    static func removeStaleTemporaries(in directory: URL) {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory.path) else { return }
        for name in names where name.hasPrefix(".") && name.contains(".tmp-") {
            guard let pid = Int32(name.split(separator: "-").last ?? ""), kill(pid, 0) != 0 else { continue }
            try? FileManager.default.removeItem(at: directory.appendingPathComponent(name))
        }
    }
}

/// Set while a training loop can stop after its current batch.
private let stopAfterBatchEnabled = Atomic<Bool>(false)
/// Set by the first signal while `stopAfterBatchEnabled`.
private let stopRequested = Atomic<Bool>(false)

/// A phase stopped on request after saving its checkpoint; reported as one line with exit status 130.
struct StoppedAfterSaving: Error, CustomStringConvertible {
    let description: String
}

/// When periodic checkpoints inside an epoch are due.
struct CheckpointSchedule {
    /// Seconds between checkpoints inside an epoch (0 = only at epoch ends and on interruption).
    let interval: Double
    private var last = Date()

    init(minutes: Double) { interval = minutes * 60 }

    /// Whether a checkpoint is due now; resets the clock when it is.
    mutating func isDue() -> Bool {
        guard interval > 0, Date().timeIntervalSince(last) >= interval else { return false }
        last = Date()
        return true
    }

    /// Records a checkpoint written now (e.g. at the end of an epoch).
    mutating func reset() { last = Date() }
}

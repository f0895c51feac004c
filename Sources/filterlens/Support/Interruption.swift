import Foundation
import Pipeline
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
                // Any command may be the one stopped here (a report, a folder made by filterlens-torch): name none.
                let message = "\ninterrupted: the files on disk are complete (each is written whole or not at all); `filterlens status RUN` says where the run stands and which command continues it\n"
                message.withCString { _ = write(STDERR_FILENO, $0, strlen($0)) }
                _exit(130)
            }
        }
    }
}

/// The signals as the pipeline's stop requests.
struct SignalStops: StopRequests {
    /// Runs `body` with stop-after-batch enabled: a first signal then only sets `isStopRequested`, which the
    /// training loop polls after every batch.
    func stoppingAfterBatch<T>(_ body: () throws -> T) rethrows -> T {
        stopAfterBatchEnabled.store(true, ordering: .relaxed)
        defer { stopAfterBatchEnabled.store(false, ordering: .relaxed) }
        return try body()
    }

    /// Whether a signal asked the training loop to stop.
    var isStopRequested: Bool { stopRequested.load(ordering: .relaxed) }

    /// The command that continues an interrupted `phase` of the run in `directory`: the invoking `filterlens run`
    /// when that is what runs, else the phase's own command.
    func resumeHint(phase: Phase, directory: URL) -> String {
        let invoked = CommandLine.arguments.dropFirst().first ?? phase.command
        let command = invoked == "run" ? "filterlens run --resume --out \(directory.path)"
            : phase == .train ? "filterlens train --resume --out \(directory.path)"
            : "filterlens \(phase.command) --resume \(directory.path)"
        return "`\(command)` (with the same flags) continues"
    }
}

/// Set while a training loop can stop after its current batch.
private let stopAfterBatchEnabled = Atomic<Bool>(false)
/// Set by the first signal while `stopAfterBatchEnabled`.
private let stopRequested = Atomic<Bool>(false)

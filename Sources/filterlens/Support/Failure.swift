import ArgumentParser
import Foundation
import HDF5
import Pipeline
import Training

/// Runs a command body; any error becomes one line "error: ..." on standard error and exit status 1.
func reportingFailures(_ body: () throws -> Void) throws {
    Interruption.install()
    startHDF5CallGuard()
    do {
        try body()
    } catch let exit as ExitCode {
        throw exit
    } catch let error as ValidationError {
        throw error
    } catch let invalid as InvalidRequest {
        throw ValidationError(invalid.description)
    } catch let tooLarge as BatchTooLarge {
        let advice = tooLarge.largestFitting > 0 ? "choose --batch \(tooLarge.largestFitting) or less"
            : "not even one image fits: free memory or use a smaller --arch"
        FileHandle.standardError.write(Data("error: --batch \(tooLarge.batch): \(tooLarge); \(advice)\n".utf8))
        _exit(1)
    } catch let diverged as DivergedError {
        let advice = switch diverged.site {
        case .network: "lower --lr or raise --warmup"
        case .probe: "give that layer a lower rate (--probe-lr, one rate per layer) and run phase 2 again without --resume"
        case .retraining: "lower --retrain-lr and run `filterlens prune` again without --resume"
        }
        FileHandle.standardError.write(Data("error: \(diverged) — \(advice)\n".utf8))
        _exit(1)
    } catch let refused as PipelineError {
        FileHandle.standardError.write(Data("error: \(refused.problem); \(advice(refused))\n".utf8))
        _exit(1)
    } catch let stopped as StoppedAfterSaving {
        FileHandle.standardError.write(Data("interrupted: \(stopped)\n".utf8))
        _exit(130)
    } catch {
        FileHandle.standardError.write(Data("error: \(error)\n".utf8))
        // Leave at once: files are written atomically, so nothing needs closing, and HDF5's exit handler can crash
        // closing a file whose write failed (a full disk, seen with HDF5 1.10.8).
        _exit(1)
    }
}

/// What to do about `error`, in the command line's flags and commands.
func advice(_ error: PipelineError) -> String {
    switch error {
    case .nothingToResume: "start the run without --resume"
    case .nothingSavedYet: "its first checkpoint comes after epoch 1 or --checkpoint-minutes (default 10) into it"
    case .notARun(let directory): "start one with `filterlens run --preset P --out \(directory)`"
    case .lockUnavailable: "make the folder writable"
    case .inUse: "wait for it to finish or stop it (Ctrl-C, or kill -INT with its pid), then run this again"
    case .runExists: "pass --resume to continue it, --force to overwrite it, or another --out"
    case .cannotCreate: "choose a writable --out"
    case .otherDataset: "restore the run's data there"
    case .labelsNotInData, .noImages: "choose other --labels"
    case .labelCountMismatch: "re-run `filterlens train`"
    }
}

/// CPU seconds one HDF5 call may take before the file it reads is declared damaged (FILTERLENS_HDF5_TIMEOUT overrides).
let hdf5CallLimit = Double(ProcessInfo.processInfo.environment["FILTERLENS_HDF5_TIMEOUT"] ?? "").flatMap { $0 > 0 ? $0 : nil } ?? 60

/// What a damaged file that breaks the HDF5 library (a call that never returns, or a memory fault inside one)
/// becomes: one error line naming the file, and exit status 1.
func startHDF5CallGuard() {
    let advice = "the file is damaged: restore it, or re-run the step that wrote it"
    HDF5CallGuard.start(stallLimit: hdf5CallLimit, faultExplanation: "the HDF5 library crashed reading it; " + advice) { context, seconds in
        let message = String(format: "error: %@: the HDF5 library spent %.0f s in one call without returning; %@\n",
                             context, seconds, advice)
        FileHandle.standardError.write(Data(message.utf8))
        _exit(1)
    }
}

/// A user error found by the command line itself (a bad combination of flags, an existing run directory).
struct UsageError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

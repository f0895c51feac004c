import ArgumentParser
import Foundation
import HDF5

/// Runs a command body; any error becomes one line "error: ..." on standard error and exit status 1.
func reportingFailures(_ body: () throws -> Void) throws {
    Interruption.install()
    startHDF5Watchdog()
    do {
        try body()
    } catch let exit as ExitCode {
        throw exit
    } catch let error as ValidationError {
        throw error
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

/// CPU seconds one HDF5 call may take before the file it reads is declared damaged (FILTERLENS_HDF5_TIMEOUT overrides).
let hdf5CallLimit = Double(ProcessInfo.processInfo.environment["FILTERLENS_HDF5_TIMEOUT"] ?? "").flatMap { $0 > 0 ? $0 : nil } ?? 60

/// Turns an HDF5 call that never returns (a damaged file can make HDF5 loop forever) into one error line and exit 1.
func startHDF5Watchdog() {
    HDF5Watchdog.start(limit: hdf5CallLimit) { context, seconds in
        let message = String(format: "error: %@: HDF5 spent %.0f s in one call without returning; the file is damaged "
                             + "(HDF5 can loop forever on a corrupt file): restore it or re-run the step that wrote it\n",
                             context, seconds)
        FileHandle.standardError.write(Data(message.utf8))
        _exit(1)
    }
}

/// A user error found by the command line itself (a bad combination of flags, an existing run directory).
struct UsageError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

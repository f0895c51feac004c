import ArgumentParser
import Foundation

/// Runs a command body; any error becomes one line "error: ..." on standard error and exit status 1.
func reportingFailures(_ body: () throws -> Void) throws {
    Interruption.install()
    do {
        try body()
    } catch let exit as ExitCode {
        throw exit
    } catch let error as ValidationError {
        throw error
    } catch {
        FileHandle.standardError.write(Data("error: \(error)\n".utf8))
        // Leave at once: files are written atomically, so nothing needs closing, and HDF5's exit handler can crash
        // closing a file whose write failed (a full disk, seen with HDF5 1.10.8).
        _exit(1)
    }
}

/// A user error found by the command line itself (a bad combination of flags, an existing run directory).
struct UsageError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

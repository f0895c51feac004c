import Foundation
import HDF5

/// An HDF5 file built under a temporary name beside its destination: `commit()` closes it and renames it into
/// place; one never committed is removed. Every FilterLens writer builds its file through one.
final class StagedFile {
    /// What to do when writing fails.
    static let fix = "check free disk space and permissions of the run directory"
    private var file: H5File?
    private let atomic: AtomicFile

    /// A new file for `url` whose root carries `format`, `format_version` (`version`), `created` and `filterlens_version`.
    init(creating url: URL, format: String, version: Int = RunLayout.version) throws(RunStoreError) {
        atomic = try AtomicFile(url)
        let temporary = atomic.temporary.path
        do {
            file = try accessing(fix: Self.fix) { () throws(HDF5Error) in
                let file = try H5File.create(temporary)
                try file.root.setAttribute("format", format)
                try file.root.setAttribute("format_version", version)
                try file.root.setAttribute("created", RunLayout.timestamp())
                try file.root.setAttribute("filterlens_version", RunLayout.toolVersion)
                return file
            }
        } catch {
            atomic.discard()   // HDF5 may have created the temporary before failing (a full disk)
            throw error
        }
    }

    /// The root group of the file being built.
    var root: H5Group { file!.root }

    /// Flushes, closes and renames the file into place. Groups and datasets of it must be released first.
    func commit() throws(RunStoreError) {
        if let file { try accessing(fix: Self.fix) { () throws(HDF5Error) in try file.flush() } }
        file = nil
        try atomic.commit()
    }

    /// An uncommitted file (a failed write) is removed, and its HDF5 handle deliberately left open: closing a file
    /// after a failed write can crash inside the HDF5 library (seen with a full disk on HDF5 1.10.8), and the
    /// process is about to report the error and exit.
    deinit {
        if let file {
            atomic.discard()
            _ = Unmanaged.passRetained(file)
        }
    }
}

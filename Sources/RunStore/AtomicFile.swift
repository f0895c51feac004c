import Files
import Foundation

/// A file written under a temporary name beside its final path (`TemporaryFile`, the one scheme of every file
/// FilterLens writes) and renamed into place when complete, so a crash leaves either the old file or the new one,
/// never a half-written one.
public struct AtomicFile: Sendable {
    /// The final path.
    public let destination: URL
    /// The temporary path written first (same directory, so the rename is atomic).
    public let temporary: URL

    /// Plans writing `destination`; creates its directory if needed.
    public init(_ destination: URL) throws(RunStoreError) {
        self.destination = destination
        let directory = destination.deletingLastPathComponent()
        temporary = TemporaryFile.url(for: destination)
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw RunStoreError(path: directory.path, problem: "cannot create the directory (\(error.localizedDescription))",
                                fix: "choose a writable output directory")
        }
        try? FileManager.default.removeItem(at: temporary)
    }

    /// Renames the finished temporary file over the destination.
    public func commit() throws(RunStoreError) {
        if rename(temporary.path, destination.path) != 0 {
            let reason = String(cString: strerror(errno))
            throw RunStoreError(path: destination.path, problem: "cannot rename \(temporary.lastPathComponent) into place (\(reason))",
                                fix: "check free disk space and permissions")
        }
    }

    /// Removes the temporary file (after a failure).
    public func discard() {
        try? FileManager.default.removeItem(at: temporary)
    }

    /// Writes `data` atomically to `url`.
    public static func write(_ data: Data, to url: URL) throws(RunStoreError) {
        let file = try AtomicFile(url)
        do {
            try data.write(to: file.temporary)
        } catch {
            file.discard()
            throw RunStoreError(path: url.path, problem: "cannot write (\(error.localizedDescription))",
                                fix: "check free disk space and permissions")
        }
        try file.commit()
    }
}

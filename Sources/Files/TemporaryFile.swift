import Foundation

/// The one temporary-file scheme of every file FilterLens writes (HDF5 files, CSV, HTML, figures): the file is
/// written as `.<name>.tmp-<pid>` beside its destination and renamed into place when complete, so a crash leaves
/// the old file or the new one, never half of one; a temporary whose process no longer runs is stale, and
/// `removeStale(in:)` (which every phase calls on its run folder) deletes it.
public enum TemporaryFile {
    /// The marker between a destination's name and the writer's process id.
    static let marker = ".tmp-"

    /// `.<name>.tmp-<pid>` beside `destination`, for this process.
    public static func url(for destination: URL) -> URL {
        destination.deletingLastPathComponent()
            .appendingPathComponent(".\(destination.lastPathComponent)\(marker)\(ProcessInfo.processInfo.processIdentifier)")
    }

    /// The process id of the writer of the temporary called `name`, or nil if `name` is no temporary name.
    public static func writer(ofName name: String) -> Int32? {
        guard name.hasPrefix("."), let range = name.range(of: marker, options: .backwards) else { return nil }
        return Int32(name[range.upperBound...])
    }

    /// `path` with every temporary name in it replaced by the destination it stands for (for error messages).
    public static func destinationPath(_ path: String) -> String {
        path.split(separator: "/", omittingEmptySubsequences: false).map { component -> String in
            guard writer(ofName: String(component)) != nil, let range = component.range(of: marker, options: .backwards) else {
                return String(component)
            }
            return String(component[component.index(after: component.startIndex)..<range.lowerBound])
        }.joined(separator: "/")
    }

    /// Removes the temporaries in `directory` (not below it) whose writer no longer runs.
    public static func removeStale(in directory: URL) {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory.path) else { return }
        for name in names {
            guard let pid = writer(ofName: name), kill(pid, 0) != 0 else { continue }
            try? FileManager.default.removeItem(at: directory.appendingPathComponent(name))
        }
    }
}

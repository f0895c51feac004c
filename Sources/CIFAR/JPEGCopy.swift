import Files
import Foundation

/// Builds the standard binary layout from the project's JPEG copy of CIFAR-10 (`build-cifar10-bin`, needs Pillow).
public enum JPEGCopy {
    /// The name reports give data built this way.
    public static let datasetName = "CIFAR-10 (JPEG copy)"

    /// Runs `source/build-cifar10-bin` into a temporary folder beside `destination`, then renames it into place,
    /// so an interrupted build never leaves a half-written data set. Returns the batch directory.
    public static func prepare(source: URL, destination: URL) throws(CIFARError) -> URL {
        let script = source.appendingPathComponent("build-cifar10-bin")
        guard FileManager.default.fileExists(atPath: script.path) else {
            throw CIFARError(path: script.path, problem: "build script not found",
                             fix: "pass --source with the folder of the CIFAR-10 JPEG copy (it holds build-cifar10-bin and images.tar.gz), or prepare the official archive: --from cifar-10-binary.tar.gz or --download")
        }
        let final = destination.appendingPathComponent(CIFAR10.folderName)
        let parent = destination
        TemporaryFile.removeStale(in: parent)   // staging folders of killed prepares
        let staging = TemporaryFile.url(for: parent.appendingPathComponent("prepare"))
        do {
            try FileManager.default.createDirectory(at: parent, withIntermediateDirectories: true)
            try? FileManager.default.removeItem(at: staging)
        } catch {
            throw CIFARError(path: parent.path, problem: "cannot create the directory: \(error.localizedDescription)",
                             fix: "choose a writable --out directory")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script.path, staging.path]
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.standardError
        do {
            try process.run()
        } catch {
            throw CIFARError(path: script.path, problem: "cannot run python3: \(error.localizedDescription)",
                             fix: "install Python 3 and Pillow (python3 -m pip install pillow)")
        }
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            try? FileManager.default.removeItem(at: staging)
            let lastLine = message.split(separator: "\n").last.map(String.init) ?? "exit \(process.terminationStatus)"
            let fix = message.contains("PIL") ? "install Pillow: python3 -m pip install pillow"
                                              : "check the JPEG copy at \(source.path)"
            throw CIFARError(path: script.path, problem: "build failed: \(lastLine)", fix: fix)
        }
        let built = staging.appendingPathComponent(CIFAR10.folderName)
        do {
            try Data((datasetName + "\n").utf8).write(to: built.appendingPathComponent(CIFAR10.sourceNoteFile))
            try FolderPlacement.place(built, at: final)
            try? FileManager.default.removeItem(at: staging)
        } catch {
            throw CIFARError(path: final.path, problem: "cannot move the built files into place: \(error.localizedDescription)",
                             fix: "check free disk space and permissions of \(parent.path)")
        }
        return final
    }
}

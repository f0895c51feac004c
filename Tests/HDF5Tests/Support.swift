import Foundation
import Testing

/// All HDF5 tests, run one after another: one place to see the suite, and no test depends on HDF5 running
/// calls in parallel (the module serializes them anyway).
@Suite("HDF5", .serialized)
struct HDF5Tests {}

/// A fresh, uniquely named directory under the system temporary directory, removed when released.
final class TemporaryDirectory {
    /// The directory's location.
    let url: URL

    /// Creates the directory.
    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("HDF5Tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: url) }

    /// The path of `name` inside the directory.
    func path(_ name: String) -> String { url.appendingPathComponent(name).path }
}

/// The output of an external program run to completion.
struct ToolOutput {
    /// The exit status.
    let status: Int32
    /// Standard output and standard error, interleaved.
    let text: String
}

/// The full path of `name` found on PATH, or nil.
func findExecutable(_ name: String) -> String? {
    let directories = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":")
    return directories.map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
}

/// Runs the program `name` (looked up on PATH) with `arguments` and returns its exit status and output.
func runTool(_ name: String, _ arguments: [String]) throws -> ToolOutput {
    let executable = try #require(findExecutable(name), "\(name) is not on PATH")
    let process = Process()
    let pipe = Pipe()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return ToolOutput(status: process.terminationStatus, text: String(decoding: data, as: UTF8.self))
}

/// Whether `python3 -c "import h5py"` succeeds (h5py is optional: tests needing it are skipped without it).
let pythonHasH5py: Bool = (try? runTool("python3", ["-c", "import h5py"]).status) == 0

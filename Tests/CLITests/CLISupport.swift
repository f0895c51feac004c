import CIFAR
import Foundation

/// The `filterlens` executable built beside the test bundle.
let filterlensBinary: URL = {
    let bundle = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    var candidates = [bundle.appendingPathComponent("filterlens")]
    for configuration in ["release", "debug"] {
        var root = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { root.deleteLastPathComponent() }
        candidates.append(root.appendingPathComponent(".build/\(configuration)/filterlens"))
    }
    return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) } ?? candidates[0]
}()

/// Result of one CLI invocation.
struct CommandResult {
    var status: Int32
    var output: String
    var errors: String

    /// Standard error's lines less the warning of a forced OpenBLAS kernel (`BLAS.forcedCoreWarning`), which
    /// machines that preset `OPENBLAS_CORETYPE` add to every computing command.
    var errorLines: [Substring] {
        errors.split(separator: "\n").filter { !$0.hasPrefix("warning: OPENBLAS_CORETYPE=") }
    }
}

/// The environment of a `filterlens` child: this process's with `extra` merged in, less `OPENBLAS_NUM_THREADS`.
/// scripts/test.sh sets that to 1 for the test process, whose tests run side by side and would otherwise change
/// OpenBLAS's process-wide thread count under each other (it rounds differently at 1 and 2 threads); a child runs
/// at OpenBLAS's own count, as for a user. `OPENBLAS_CORETYPE` stays: tests compare a child's numbers with this
/// process's, which need the same kernel.
func cliEnvironment(_ extra: [String: String] = [:]) -> [String: String] {
    var environment = ProcessInfo.processInfo.environment.merging(extra) { $1 }
    environment["OPENBLAS_NUM_THREADS"] = nil
    return environment
}

/// Runs `filterlens` with `arguments` in `directory`.
func runFilterLens(_ arguments: [String], in directory: URL, environment: [String: String] = [:]) throws -> CommandResult {
    try runProgram(filterlensBinary, arguments, in: directory, environment: environment)
}

/// Runs `executable` with `arguments` in `directory`, in the CLI tests' environment, and collects its output.
func runProgram(_ executable: URL, _ arguments: [String], in directory: URL, environment: [String: String] = [:]) throws -> CommandResult {
    let process = Process()
    process.executableURL = executable
    process.arguments = arguments
    process.environment = cliEnvironment(environment)
    process.currentDirectoryURL = directory
    let output = Pipe(), errors = Pipe()
    process.standardOutput = output
    process.standardError = errors
    try process.run()
    let outData = output.fileHandleForReading.readDataToEndOfFile()
    let errData = errors.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return CommandResult(status: process.terminationStatus, output: String(decoding: outData, as: UTF8.self),
                         errors: String(decoding: errData, as: UTF8.self))
}

/// A scratch folder holding a small learnable CIFAR-10-layout data set: each label is a coloured stripe pattern
/// with noise, so a tiny network learns it within an epoch.
func makeTinyDataset(trainPerFile: Int = 100, test: Int = 200) throws -> URL {
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("filterlens-cli-\(UUID().uuidString)")
    let folder = root.appendingPathComponent("data/cifar-10-batches-bin")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    var state: UInt64 = 12345
    func next() -> UInt64 {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return state >> 33
    }
    func images(_ count: Int) -> LabeledImages {
        var pixels = [UInt8](repeating: 0, count: count * CIFAR10.pixelsPerImage)
        var labels = [UInt8](repeating: 0, count: count)
        for index in 0..<count {
            let label = Int(next() % 10)
            labels[index] = UInt8(label)
            for channel in 0..<3 {
                for y in 0..<32 {
                    for x in 0..<32 {
                        let stripe = ((x + y * (label % 3)) / (2 + label % 4)) % 2 == 0
                        let base = stripe ? 60 + 18 * label : 200 - 12 * label
                        let tint = channel == label % 3 ? 40 : 0
                        let noise = Int(next() % 30)
                        pixels[index * CIFAR10.pixelsPerImage + channel * 1024 + y * 32 + x] = UInt8(min(255, base + tint + noise))
                    }
                }
            }
        }
        return LabeledImages(pixels: pixels, labels: labels)
    }
    for name in CIFAR10.Split.train.fileNames {
        try CIFAR10.encode(images(trainPerFile)).write(to: folder.appendingPathComponent(name))
    }
    try CIFAR10.encode(images(test)).write(to: folder.appendingPathComponent("test_batch.bin"))
    return root
}

import BLAS
import Cairo

import Foundation
import HDF5

/// What a reviewer needs to know of where a result came from: versions, machine, command, code revision.
enum Provenance {
    /// Collects the provenance of this process, for `/provenance` in run.h5 and the report.
    static func collect() -> [String: String] {
        var values: [String: String] = [
            "command_line": CommandLine.arguments.map(quoted).joined(separator: " "),
            "filterlens_version": FilterLens.configuration.version,
            "hdf5_version": HDF5Library.version,
            "cairo_version": CairoLibrary.version,
            "openblas_core": BLAS.coreName,
            "openblas_config": BLAS.configuration,
            "openblas_threads": String(BLAS.threadCount),
            "openblas_coretype_env": ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] ?? "",
            "machine": machine(),
            "cpu_flags": vectorFlags(),
            "cpu_cores": String(ProcessInfo.processInfo.activeProcessorCount),
            "memory_gib": String(format: "%.1f", Double(ProcessInfo.processInfo.physicalMemory) / 1_073_741_824),
            "swift_version": swiftVersion,
            "started": ISO8601DateFormatter().string(from: Date()),
        ]
        let (commit, dirty) = gitState()
        values["git_commit"] = commit
        values["git_dirty"] = dirty
        return values
    }

    /// The Swift compiler this binary was built with.
    static var swiftVersion: String {
        #if compiler(>=6.3)
        "6.3 or later"
        #elseif compiler(>=6.2)
        "6.2"
        #elseif compiler(>=6.1)
        "6.1"
        #else
        "6.0"
        #endif
    }

    /// CPU model and OS, e.g. "Intel(R) Xeon(R) ... / Linux 6.1".
    static func machine() -> String {
        var model = "unknown CPU"
        if let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
           let line = info.split(separator: "\n").first(where: { $0.hasPrefix("model name") }),
           let colon = line.firstIndex(of: ":") {
            model = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        var name = utsname()
        uname(&name)
        let release = withUnsafeBytes(of: &name.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        return "\(model) / Linux \(release)"
    }

    /// The CPU's vector-instruction flags that decide OpenBLAS's kernel and the engine's speed, e.g.
    /// "avx2 fma avx512f avx512_bf16" (from /proc/cpuinfo; "unknown" elsewhere).
    static func vectorFlags() -> String {
        guard let flags = BLAS.cpuFlags else { return "unknown" }
        let vector = flags.filter { $0 == "avx" || $0 == "avx2" || $0 == "fma" || $0.hasPrefix("avx512") || $0 == "amx_bf16" }
        return vector.isEmpty ? "none" : vector.joined(separator: " ")
    }

    /// The git commit of the working directory and whether it has uncommitted changes ("yes"/"no"/"unknown").
    static func gitState() -> (String, String) {
        guard let commit = run(["git", "rev-parse", "HEAD"]) else { return ("unknown", "unknown") }
        let status = run(["git", "status", "--porcelain", "--untracked-files=no"]) ?? ""
        return (commit, status.isEmpty ? "no" : "yes")
    }

    private static func run(_ arguments: [String]) -> String? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return nil }
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { return nil }
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    private static func quoted(_ argument: String) -> String {
        argument.contains(where: { " \"'$".contains($0) }) ? "'" + argument.replacingOccurrences(of: "'", with: "'\\''") + "'" : argument
    }
}

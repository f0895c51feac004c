import Foundation
import HDF5

/// Runs HDF5 calls, turning a library error into a `RunStoreError` with `fix`.
@inline(__always)
func accessing<T>(fix: String, _ body: () throws(HDF5Error) -> T) throws(RunStoreError) -> T {
    do {
        return try body()
    } catch {
        throw RunStoreError(error, fix: fix)
    }
}

/// Checks the root attributes `format` and `format_version` (one of `versions`) of a file FilterLens reads; returns
/// the version.
@discardableResult
func validateFormat(_ file: H5File, expected: String,
                    versions: ClosedRange<Int> = RunLayout.readableVersions) throws(RunStoreError) -> Int {
    let fix = "open a file written by FilterLens (docs/hdf5-layout.md describes the layout)"
    let root = file.root
    guard root.hasAttribute("format"), let format = try? root.stringAttribute("format") else {
        throw RunStoreError(path: file.path, object: "/@format", problem: "no `format` attribute: not a FilterLens file", fix: fix)
    }
    guard format == expected else {
        throw RunStoreError(path: file.path, object: "/@format", problem: "format is \"\(format)\", expected \"\(expected)\"", fix: fix)
    }
    guard let version = try? root.intAttribute("format_version") else {
        throw RunStoreError(path: file.path, object: "/@format_version", problem: "no `format_version` attribute", fix: fix)
    }
    guard versions.contains(version) else {
        let readable = versions.count == 1 ? "version \(versions.lowerBound)"
            : "versions \(versions.lowerBound) to \(versions.upperBound)"
        throw RunStoreError(path: file.path, object: "/@format_version",
                            problem: "layout version \(version); this FilterLens reads \(readable)",
                            fix: version > versions.upperBound ? "update FilterLens" : "re-run the step that wrote it with this FilterLens")
    }
    return version
}

/// Opens a FilterLens file for reading, with one clear error for a missing, foreign or damaged file. `damaged`: what
/// to do about a damaged file, where rerunning `producer` is not the way (a checkpoint); nil: rerun `producer`.
func openValidated(_ path: String, format: String, versions: ClosedRange<Int> = RunLayout.readableVersions,
                   producer: String, damaged: String? = nil) throws(RunStoreError) -> H5File {
    guard FileManager.default.fileExists(atPath: path) else {
        throw RunStoreError(path: path, problem: "file not found", fix: "run `\(producer)` first")
    }
    let rewrite = damaged ?? "re-run `\(producer)` to rewrite it"
    guard H5File.isHDF5(path) else {
        throw RunStoreError(path: path, problem: "not an HDF5 file (or truncated)", fix: rewrite)
    }
    let file = try accessing(fix: rewrite) { () throws(HDF5Error) in try H5File.open(path) }
    try validateFormat(file, expected: format, versions: versions)
    return file
}

/// Opens dataset `name` of `group` and checks its rank and, where given, its extents (nil = any).
func openChecked(_ group: H5Group, _ name: String, file: String, shape expected: [Int?]) throws(RunStoreError) -> H5Dataset {
    let object = group.name == "/" ? "/\(name)" : "\(group.name)/\(name)"
    let fix = "see docs/hdf5-layout.md for the expected layout"
    guard group.contains(name), let dataset = try? group.openDataset(name) else {
        throw RunStoreError(path: file, object: object, problem: "missing dataset", fix: fix)
    }
    let shape = dataset.shape
    let matches = shape.count == expected.count && zip(shape, expected).allSatisfy { actual, wanted in wanted.map { $0 == actual } ?? true }
    guard matches else {
        let wanted = expected.map { $0.map(String.init) ?? "*" }.joined(separator: " x ")
        throw RunStoreError(path: file, object: object,
                            problem: "shape \(shape.map(String.init).joined(separator: " x ")), expected \(wanted)", fix: fix)
    }
    return dataset
}


import HDF5

/// A run directory or file that cannot be read or written as the documented layout: names the file, the dataset
/// (where one is at fault) and the fix.
public struct RunStoreError: Error, CustomStringConvertible, Sendable {
    /// The file at fault.
    public let path: String
    /// The dataset, group or attribute inside the file, when one is at fault.
    public let object: String?
    /// What is wrong.
    public let problem: String
    /// What the user can do about it.
    public let fix: String

    public init(path: String, object: String? = nil, problem: String, fix: String) {
        self.path = path
        self.object = object
        self.problem = problem
        self.fix = fix
    }

    /// Wraps an HDF5 library error with a fix.
    public init(_ error: HDF5Error, fix: String) {
        self.init(path: error.path, problem: "cannot \(error.operation): \(error.message)", fix: fix)
    }

    public var description: String {
        let place = object.map { "\(path) [\($0)]" } ?? path
        return "\(place): \(problem); \(fix)"
    }
}

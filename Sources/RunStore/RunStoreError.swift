import Files
import Foundation
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

    /// Wraps an HDF5 library error with a fix; names the final file rather than its temporary stand-in, and says
    /// "no space left on device" plainly.
    public init(_ error: HDF5Error, fix: String) {
        let path = TemporaryFile.destinationPath(error.path)
        if error.message.contains("No space left on device") {
            self.init(path: path, problem: "cannot \(error.operation): no space left on device",
                      fix: "free disk space or choose another --out; files already written are intact")
        } else {
            self.init(path: path, problem: "cannot \(error.operation): \(error.message)", fix: fix)
        }
    }

    public var description: String {
        let place = object.map { "\(path) [\($0)]" } ?? path
        return "\(place): \(problem); \(fix)"
    }
}

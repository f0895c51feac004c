/// A fault in CIFAR-10 input: names the file, the byte offset where known, and the fix.
public struct CIFARError: Error, CustomStringConvertible, Sendable {
    /// The file or directory at fault.
    public let path: String
    /// Byte offset of the fault inside `path`, when it lies in a record.
    public let offset: Int?
    /// What is wrong.
    public let problem: String
    /// What the user can do about it.
    public let fix: String

    public init(path: String, offset: Int? = nil, problem: String, fix: String) {
        self.path = path
        self.offset = offset
        self.problem = problem
        self.fix = fix
    }

    public var description: String {
        let place = offset.map { "\(path) (byte \($0))" } ?? path
        return "\(place): \(problem); \(fix)"
    }
}

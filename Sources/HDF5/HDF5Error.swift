import CHDF5

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A failed HDF5 operation: what was attempted, on which file (and object), and HDF5's own explanation.
public struct HDF5Error: Error, CustomStringConvertible, Sendable {
    /// What was attempted, e.g. "open file", "read dataset", "read attribute \"units\"".
    public let operation: String
    /// The file path, followed by the object path inside the file where relevant ("run.h5/weights/conv1").
    public let path: String
    /// HDF5's error-stack descriptions, innermost first, joined with "; " (or this module's own reason).
    public let message: String

    /// Creates an error from its parts.
    public init(operation: String, path: String, message: String) {
        self.operation = operation
        self.path = path
        self.message = message
    }

    /// One line: "<path>: cannot <operation>: <message>".
    public var description: String { "\(path): cannot \(operation): \(message)" }
}

/// The HDF5 C library as a whole.
public enum HDF5Library {
    /// The linked library's version, e.g. "1.10.8" (from H5get_libversion).
    public static var version: String {
        enterLibrary(); defer { leaveLibrary() }
        var (major, minor, release): (UInt32, UInt32, UInt32) = (0, 0, 0)
        _ = H5get_libversion(&major, &minor, &release)
        return "\(major).\(minor).\(release)"
    }
}

/// Opens the library once.
private let libraryOpened: Bool = {
    _ = H5open()
    return true
}()

/// A recursive pthread mutex (a public entry point may call another while holding it).
private final class RecursiveLock: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>

    init() {
        mutex = .allocate(capacity: 1)
        var attributes = pthread_mutexattr_t()
        pthread_mutexattr_init(&attributes)
        pthread_mutexattr_settype(&attributes, Int32(PTHREAD_MUTEX_RECURSIVE))
        pthread_mutex_init(mutex, &attributes)
        pthread_mutexattr_destroy(&attributes)
    }

    func lock() { pthread_mutex_lock(mutex) }
    func unlock() { pthread_mutex_unlock(mutex) }
}

/// Serializes every call into HDF5. Debian's "serial" build happens to be configured thread-safe (it holds its
/// own global lock), but other builds (e.g. Homebrew's) are not; with this lock both behave the same.
private let libraryLock = RecursiveLock()

/// Takes the process-wide HDF5 lock (opening the library on first use) and turns off HDF5's automatic printing
/// of error stacks to stderr for the calling thread (a thread-safe HDF5 keeps that setting per thread): this
/// module collects the stack into `HDF5Error.message` instead. Pair with `leaveLibrary()`.
/// Every public entry point of this module, and every deinit that closes an id, runs inside it.
/// `context` (the file, and object where known) names the call for `HDF5CallGuard`; it is built only while the
/// guard runs.
func enterLibrary(_ context: @autoclosure () -> String = "") {
    libraryLock.lock()
    libraryDepth += 1
    if libraryDepth == 1 && guardRunning { outermostCall.begin(context()) }
    _ = libraryOpened
    _ = H5Eset_auto2(fl_H5E_DEFAULT(), nil, nil)
}

/// Releases the process-wide HDF5 lock taken by `enterLibrary()`.
func leaveLibrary() {
    if libraryDepth == 1 && guardRunning { outermostCall.end() }
    libraryDepth -= 1
    libraryLock.unlock()
}

/// How deep the lock holder is in nested entry points (1 = outermost call). Changed only under `libraryLock`.
nonisolated(unsafe) private var libraryDepth = 0

/// Collects the `desc` of each error-stack entry into the `[String]` that `clientData` points to.
private let appendDescription: H5E_walk2_t = { _, entry, clientData in
    guard let entry, let clientData, let text = entry.pointee.desc else { return 0 }
    clientData.assumingMemoryBound(to: [String].self).pointee.append(String(cString: text))
    return 0
}

/// The most error-stack descriptions kept in a message: the innermost ones say what went wrong, the outer ones
/// mostly repeat "unable to ..." up the call chain.
private let keptDescriptions = 3

/// The current HDF5 error stack as one line (the innermost descriptions first, duplicates dropped),
/// then clears the stack. Returns nil when the stack is empty.
func takeErrorStack() -> String? {
    var descriptions: [String] = []
    _ = withUnsafeMutablePointer(to: &descriptions) { pointer in
        H5Ewalk2(fl_H5E_DEFAULT(), H5E_WALK_UPWARD, appendDescription, pointer)
    }
    _ = H5Eclear2(fl_H5E_DEFAULT())
    var lines: [String] = []
    for description in descriptions {
        let line = description.split(whereSeparator: \.isNewline).joined(separator: " ")
        if !line.isEmpty && !lines.contains(line) { lines.append(line) }
        if lines.count == keptDescriptions { break }
    }
    return lines.isEmpty ? nil : lines.joined(separator: "; ")
}

/// An error for a failed C call, carrying the HDF5 error stack (or `fallback` when the stack is empty).
func libraryError(_ operation: String, _ path: String, fallback: String = "HDF5 call failed") -> HDF5Error {
    HDF5Error(operation: operation, path: path, message: takeErrorStack() ?? fallback)
}

/// Returns `result` (an id, status, count or truth value) or throws when HDF5 reports failure (a negative value).
@discardableResult
func checked<Result: BinaryInteger>(_ result: Result, _ operation: @autoclosure () -> String,
                                    _ path: @autoclosure () -> String) throws(HDF5Error) -> Result {
    if result < 0 { throw libraryError(operation(), path()) }
    return result
}

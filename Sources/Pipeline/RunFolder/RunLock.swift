import Foundation
import RunStore

#if canImport(Glibc)
import Glibc
#endif

/// The exclusive lock on a run folder that a command writing the run holds while it works (flock(2) on
/// `RunLayout.lockFile`), so that two commands never write one run at once (two `filterlens run --resume` of the same
/// folder would overwrite each other's checkpoints). The kernel releases it when the process ends, however it ends
/// (a crash or SIGKILL leaves no stale lock); the file stays, holding the last holder's pid, command and start.
public final class RunLock {
    /// The open lock file; closing it releases the lock.
    private let descriptor: Int32

    private init(descriptor: Int32) { self.descriptor = descriptor }

    deinit { close(descriptor) }

    /// Runs `body` holding the lock of `directory` for `command` (e.g. "filterlens run"), or throws one line naming
    /// the process that holds it and what to do. `creating`: a missing folder is created (a new run), and removed
    /// again if `body` fails before writing anything into it (a wrong --data leaves no empty run folder behind); else
    /// a missing folder is left to `body` to report, unlocked.
    public static func holding<T>(_ directory: RunDirectory, command: String, creating: Bool, _ body: () throws -> T) throws -> T {
        var isFolder: ObjCBool = false
        var created = false
        if !FileManager.default.fileExists(atPath: directory.path, isDirectory: &isFolder) || !isFolder.boolValue {
            guard creating else { return try body() }
            try directory.create()
            created = true
        }
        let lock = try acquire(directory, command: command)
        do {
            return try withExtendedLifetime(lock) { try body() }
        } catch {
            if created { removeIfUnused(directory) }
            throw error
        }
    }

    /// Removes the folder this lock created when it holds nothing but the lock file.
    private static func removeIfUnused(_ directory: RunDirectory) {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory.path),
              names == [RunLayout.lockFile] else { return }
        try? FileManager.default.removeItem(atPath: directory.path)
    }

    /// Takes the lock of the existing folder `directory`.
    private static func acquire(_ directory: RunDirectory, command: String) throws(PipelineError) -> RunLock {
        let path = directory.file(RunLayout.lockFile).path
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw PipelineError.lockUnavailable(lockFile: path, reason: String(cString: strerror(errno)))
        }
        // EWOULDBLOCK: another process holds it. Any other failure (a file system without flock) runs unlocked.
        if flock(descriptor, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK {
            let holder = Self.describe(contents: Self.read(descriptor))
            close(descriptor)
            throw PipelineError.inUse(directory: directory.path, holder: holder)
        }
        let record = "\(getpid())\n\(command)\n\(RunLayout.timestamp())\n"
        _ = ftruncate(descriptor, 0)
        _ = record.withCString { pwrite(descriptor, $0, strlen($0), 0) }
        return RunLock(descriptor: descriptor)
    }

    /// The process working on `directory` now ("filterlens run (pid 1234) since 2026-12-07T01:53:10Z"), or nil when
    /// no command holds its lock. Reads only; safe beside the holder.
    public static func holder(of directory: RunDirectory) -> String? {
        let descriptor = open(directory.file(RunLayout.lockFile).path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        guard flock(descriptor, LOCK_SH | LOCK_NB) != 0 else {
            flock(descriptor, LOCK_UN)
            return nil
        }
        return errno == EWOULDBLOCK ? describe(contents: read(descriptor)) : nil
    }

    /// The lock file's text, read from its start.
    private static func read(_ descriptor: Int32) -> String {
        var bytes = [UInt8](repeating: 0, count: 4096)
        let count = pread(descriptor, &bytes, bytes.count, 0)
        return count > 0 ? String(decoding: bytes[0..<count], as: UTF8.self) : ""
    }

    /// "COMMAND (pid PID) since START" from the three lines the holder wrote; "another process" if it wrote none yet.
    private static func describe(contents: String) -> String {
        let lines = contents.split(separator: "\n").map(String.init)
        guard lines.count >= 3 else { return "another process" }
        return "\(lines[1]) (pid \(lines[0])) since \(lines[2])"
    }
}

import Foundation

/// Ctrl-C handling. Every file FilterLens writes goes to a temporary name and is renamed into place when complete,
/// and phase 1 saves a checkpoint after every epoch, so the safe response to SIGINT is to stop at once: what is on
/// disk is complete, and `--resume` continues from the last saved epoch.
enum Interruption {
    /// Installs the SIGINT and SIGTERM handlers: one line on standard error, exit status 130.
    static func install() {
        // A parent may start us with these signals blocked (some process launchers do): unblock them.
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGINT)
        sigaddset(&set, SIGTERM)
        sigprocmask(SIG_UNBLOCK, &set, nil)
        for sig in [SIGINT, SIGTERM] {
            signal(sig) { _ in
                let message = "\ninterrupted: files on disk are complete; `filterlens train --resume --out RUN` continues from the last saved epoch\n"
                message.withCString { _ = write(STDERR_FILENO, $0, strlen($0)) }
                _exit(130)
            }
        }
    }

    /// Removes temporary files a killed run left in `directory` (".<name>.tmp-<pid>" of a process that no longer runs).
    static func removeStaleTemporaries(in directory: URL) {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory.path) else { return }
        for name in names where name.hasPrefix(".") && name.contains(".tmp-") {
            guard let pid = Int32(name.split(separator: "-").last ?? ""), kill(pid, 0) != 0 else { continue }
            try? FileManager.default.removeItem(at: directory.appendingPathComponent(name))
        }
    }
}

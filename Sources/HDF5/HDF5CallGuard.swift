import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Guards against damaged files that break the HDF5 library itself.
///
/// Some damaged files make HDF5 fail inside a single call in ways no status check can catch. Seen with HDF5 1.10.8
/// on files with a corrupt global heap (where variable-length strings live): `H5Aread` loops forever in
/// `H5HG__protect`, or faults in a `memcpy` under `H5HG_read`. Once started, the guard
/// - watches the outermost call in progress from a monitor thread and measures the CPU time its thread spends in
///   it (waiting for a slow disk or a stopped process does not count); past `stallLimit` it calls `onStall` once,
///   on the monitor thread, with the call's context (file and object). The stuck call holds the HDF5 lock and never
///   returns, so `onStall` should end the process.
/// - catches a memory fault (SIGSEGV, SIGBUS, SIGFPE), or an abort (glibc aborts on a corrupted heap: seen in
///   `H5Fclose` of a damaged file), raised by the thread that is inside an HDF5 call: it writes
///   "error: <file and object>: <faultExplanation>" as one line to standard error and exits with status 1.
///   A fault anywhere else goes on to the handler installed before (e.g. Swift's crash backtracer).
public enum HDF5CallGuard {
    /// Starts the guard (once per process; later calls do nothing).
    public static func start(stallLimit: Double, faultExplanation: String,
                             onStall: @escaping @Sendable (_ context: String, _ cpuSeconds: Double) -> Void) {
        enterLibrary(); defer { leaveLibrary() }
        guard !guardRunning else { return }
        guardRunning = true
        faultText = strdup(": " + faultExplanation + "\n")
        for signal in guardedSignals { installFaultHandler(signal) }
        let thread = Thread {
            let poll = max(0.05, min(1, stallLimit / 4))
            while true {
                Thread.sleep(forTimeInterval: poll)
                if let (context, seconds) = outermostCall.cpuSecondsSoFar(), seconds > stallLimit {
                    onStall(context, seconds)
                    return
                }
            }
        }
        thread.name = "HDF5CallGuard"
        thread.start()
    }
}

/// Whether `HDF5CallGuard` runs. Changed only under the library lock.
nonisolated(unsafe) var guardRunning = false

/// The outermost HDF5 call in progress: its context and its thread's CPU clock at the start.
let outermostCall = CallRecord()

/// Signals that mean a memory fault, or (SIGABRT) the C library finding its heap corrupted.
private let guardedSignals = [SIGSEGV, SIGBUS, SIGFPE, SIGABRT]
/// The handlers installed before the guard's, by signal number.
nonisolated(unsafe) private var previousActions: UnsafeMutablePointer<sigaction> = {
    let actions = UnsafeMutablePointer<sigaction>.allocate(capacity: 32)
    actions.initialize(repeating: sigaction(), count: 32)
    return actions
}()
/// ": <explanation>\n", as a C string.
nonisolated(unsafe) private var faultText: UnsafeMutablePointer<CChar>?
/// The context of the call in progress as a NUL-terminated C string, for the fault handler (which cannot build strings).
nonisolated(unsafe) private var faultContext = UnsafeMutablePointer<CChar>.allocate(capacity: 4096)
/// The thread inside the call in progress, and whether one is (1) or not (0).
nonisolated(unsafe) private var faultThread = pthread_t()
nonisolated(unsafe) private var faultArmed: Int32 = 0

/// Puts back the handler of `signal` that was installed before the guard's.
private func restorePreviousAction(_ signal: Int32) {
    _ = sigaction(signal, previousActions + Int(signal), nil)
}

private func installFaultHandler(_ signal: Int32) {
    var action = sigaction()
    action.__sigaction_handler.sa_sigaction = { signal, info, _ in
        // Only async-signal-safe work here: write(2), _exit(2), sigaction(2), raise(3).
        // A fault, or abort(3) on the calling thread (glibc aborts when it finds its heap corrupted); not kill(2).
        let raisedByFault = (info?.pointee.si_code ?? 0) > 0 || signal == SIGABRT
        if raisedByFault && faultArmed == 1 && pthread_equal(faultThread, pthread_self()) != 0, let faultText {
            let prefix: StaticString = "error: "
            _ = write(STDERR_FILENO, prefix.utf8Start, prefix.utf8CodeUnitCount)
            _ = write(STDERR_FILENO, faultContext, strlen(faultContext))
            _ = write(STDERR_FILENO, faultText, strlen(faultText))
            _exit(1)
        }
        // Not inside HDF5: a fault goes to the previous handler (the faulting instruction runs again and faults
        // again), so does an abort (raised again); a signal sent by kill(2) gets its default action, termination.
        if signal == SIGABRT {
            restorePreviousAction(signal)
            raise(signal)
        } else if raisedByFault {
            restorePreviousAction(signal)
        } else {
            _ = Glibc.signal(signal, SIG_DFL)
            raise(signal)
        }
    }
    action.sa_flags = SA_SIGINFO | SA_ONSTACK
    sigemptyset(&action.sa_mask)
    _ = sigaction(signal, &action, previousActions + Int(signal))
}

/// The call in progress, shared between the calling thread and the monitor under a mutex of its own.
final class CallRecord: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private var context = ""
    private var clock: clockid_t = 0
    private var startNanoseconds: Int64 = -1

    init() {
        mutex = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
    }

    /// Records the start of a call on the current thread.
    func begin(_ context: String) {
        var clock = clockid_t()
        guard pthread_getcpuclockid(pthread_self(), &clock) == 0 else { return }
        let now = Self.nanoseconds(clock)
        faultArmed = 0
        let bytes = Array(context.utf8.prefix(4095))
        bytes.withUnsafeBufferPointer { source in
            UnsafeMutableRawPointer(faultContext).copyMemory(from: source.baseAddress!, byteCount: source.count)
        }
        faultContext[bytes.count] = 0
        faultThread = pthread_self()
        faultArmed = 1
        pthread_mutex_lock(mutex)
        self.context = context
        self.clock = clock
        startNanoseconds = now
        pthread_mutex_unlock(mutex)
    }

    /// Records that the call returned.
    func end() {
        faultArmed = 0
        pthread_mutex_lock(mutex)
        startNanoseconds = -1
        pthread_mutex_unlock(mutex)
    }

    /// The call in progress and the CPU seconds its thread has spent in it; nil when none runs.
    func cpuSecondsSoFar() -> (String, Double)? {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        guard startNanoseconds >= 0 else { return nil }
        return (context, Double(Self.nanoseconds(clock) - startNanoseconds) / 1e9)
    }

    private static func nanoseconds(_ clock: clockid_t) -> Int64 {
        var time = timespec()
        guard clock_gettime(clock, &time) == 0 else { return 0 }
        return Int64(time.tv_sec) * 1_000_000_000 + Int64(time.tv_nsec)
    }
}

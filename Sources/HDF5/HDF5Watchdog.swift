import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Guards against calls into HDF5 that never return.
///
/// Some damaged files make HDF5 loop forever inside a single call (seen with HDF5 1.10.8: `H5Aread` of a
/// variable-length string attribute spinning in `H5HG__protect` on a corrupt global heap). No status check can
/// catch that. Once started, a monitor thread watches the outermost call in progress and measures the CPU time
/// its thread spends inside it (so waiting for a slow disk or a stopped process does not count); when that
/// exceeds the limit, it calls the stall handler once, on the monitor thread, with a description naming the file
/// and object. The stuck call never returns and holds the HDF5 lock, so the handler should end the process.
public enum HDF5Watchdog {
    /// Starts watching (once per process; later calls do nothing). `limit` is in CPU seconds of one call.
    public static func start(limit: Double, onStall: @escaping @Sendable (_ context: String, _ seconds: Double) -> Void) {
        enterLibrary(); defer { leaveLibrary() }
        guard !watchdogRunning else { return }
        watchdogRunning = true
        let thread = Thread {
            let poll = max(0.05, min(1, limit / 4))
            while true {
                Thread.sleep(forTimeInterval: poll)
                if let (context, seconds) = outermostCall.cpuSecondsSoFar(), seconds > limit {
                    onStall(context, seconds)
                    return
                }
            }
        }
        thread.name = "HDF5Watchdog"
        thread.start()
    }
}

/// Whether `HDF5Watchdog` runs. Changed only under the library lock.
nonisolated(unsafe) var watchdogRunning = false

/// The outermost HDF5 call in progress: its context and its thread's CPU clock at the start.
let outermostCall = CallRecord()

/// The call in progress, shared between the calling thread and the watchdog under a mutex of its own.
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
        pthread_mutex_lock(mutex)
        self.context = context
        self.clock = clock
        startNanoseconds = now
        pthread_mutex_unlock(mutex)
    }

    /// Records that the call returned.
    func end() {
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

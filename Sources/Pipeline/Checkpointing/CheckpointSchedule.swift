import Foundation

/// When periodic checkpoints inside an epoch are due.
struct CheckpointSchedule {
    /// Seconds between checkpoints inside an epoch (0 = only at epoch ends and on interruption).
    let interval: Double
    private var last = Date()

    init(minutes: Double) { interval = minutes * 60 }

    /// Whether a checkpoint is due now; resets the clock when it is.
    mutating func isDue() -> Bool {
        guard interval > 0, Date().timeIntervalSince(last) >= interval else { return false }
        last = Date()
        return true
    }

    /// Records a checkpoint written now (e.g. at the end of an epoch).
    mutating func reset() { last = Date() }
}

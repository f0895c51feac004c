import Foundation

/// The number of trials a fuzz test runs: the environment variable `variable` when set to a number (for a long
/// one-off run, e.g. `FILTERLENS_NOTATION_FUZZ_COUNT=1000000`), else `standard` (the fast count CI runs).
public func fuzzTrials(_ variable: String, standard: Int) -> Int {
    ProcessInfo.processInfo.environment[variable].flatMap { Int($0) } ?? standard
}

/// The fuzz tests' random numbers: a 64-bit linear congruential generator (Knuth's MMIX constants) whose upper 31
/// bits are returned, so a trial number names the same input on every machine (the damaged-file fixtures cite the
/// trials that found them).
public struct FuzzRandom {
    private var state: UInt64

    /// A generator starting from `seed`.
    public init(seed: UInt64) { state = seed }

    /// The next number, in 0 ..< 2^31.
    public mutating func next() -> Int {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return Int(state >> 33)
    }
}

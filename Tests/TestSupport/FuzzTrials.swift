import Foundation

/// The number of trials a fuzz test runs: the environment variable `variable` when set to a number (for a long
/// one-off run, e.g. `FILTERLENS_NOTATION_FUZZ_COUNT=1000000`), else `standard` (the fast count CI runs).
public func fuzzTrials(_ variable: String, standard: Int) -> Int {
    ProcessInfo.processInfo.environment[variable].flatMap { Int($0) } ?? standard
}

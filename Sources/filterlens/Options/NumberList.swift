import ArgumentParser

/// A comma-separated list of non-negative integers given as one flag value ("5,6", "1,2,3"), parsed once, by the
/// argument parser: a value that is not such a list is refused there, naming the flag.
struct NumberList<Value: FixedWidthInteger & Sendable>: ExpressibleByArgument, Equatable, Sendable {
    let values: [Value]

    init(_ values: [Value]) { self.values = values }

    init?(argument: String) {
        let parts = argument.split(separator: ",", omittingEmptySubsequences: false)
            .map { Value($0.trimmingCharacters(in: .whitespaces)) }
        guard !parts.isEmpty, parts.allSatisfy({ $0 != nil && $0! >= 0 }) else { return nil }
        values = parts.map { $0! }
    }

    var defaultValueDescription: String { text }

    /// "5,6".
    var text: String { values.map(String.init).joined(separator: ",") }

    static var allValueStrings: [String] { [] }
}

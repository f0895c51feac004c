import Foundation

/// Tick positions at "nice" steps (1, 2, 2.5 or 5 x 10^k) and their labels, free of float noise.
public struct NiceTicks: Sendable, Equatable {
    /// Tick values inside the range, ascending; each is an exact multiple of `step` (computed as index x step).
    public let values: [Double]
    /// The step between ticks.
    public let step: Double
    /// Labels for `values`, all with the same number of decimals (e.g. "0.0", "0.2", ..., "1.0"); negative
    /// numbers use the typographic minus sign U+2212 ("−1.5"), as matplotlib does.
    public let labels: [String]

    /// Ticks for [lower, upper] using the smallest nice step that splits the range into at most `maxIntervals`
    /// intervals (counted between the nice multiples enclosing the range, as matplotlib's MaxNLocator does).
    /// A degenerate or non-finite range yields no ticks.
    public init(lower: Double, upper: Double, maxIntervals: Int = 6) {
        guard lower.isFinite, upper.isFinite, upper > lower else {
            values = []; step = 0; labels = []; return
        }
        let intervals = Double(max(1, maxIntervals))
        let rawStep = (upper - lower) / intervals
        var exponent = Int(floor(log10(rawStep))) - 1
        var chosen: (step: Double, mantissa: Double, exponent: Int)? = nil
        search: while exponent < 400 {
            for mantissa in [1.0, 2.0, 2.5, 5.0] {
                let step = mantissa * pow(10, Double(exponent))
                let count = (upper / step).rounded(.up) - (lower / step).rounded(.down)
                if count <= intervals + 1e-9 { chosen = (step, mantissa, exponent); break search }
            }
            exponent += 1
        }
        guard let chosen else { values = []; step = 0; labels = []; return }
        let tolerance = chosen.step * 1e-9
        let first = Int((lower / chosen.step - 1e-9).rounded(.up))
        let last = Int((upper / chosen.step + 1e-9).rounded(.down))
        let scale = pow(10, Double(chosen.exponent))
        // index x mantissa x 10^k is exact in decimal; dividing by a power of ten when k < 0 keeps 0.1 as 0.1.
        let ticks = (first...max(first, last)).map { index -> Double in
            let units = Double(index) * chosen.mantissa
            return chosen.exponent < 0 ? units / pow(10, Double(-chosen.exponent)) : units * scale
        }.filter { $0 >= lower - tolerance && $0 <= upper + tolerance }
        values = ticks
        step = chosen.step
        labels = NiceTicks.format(ticks, step: chosen.step, mantissa: chosen.mantissa, exponent: chosen.exponent)
            .map { $0.hasPrefix("-") ? "\u{2212}" + $0.dropFirst() : $0 }
    }

    /// Labels with the fewest decimals that show the step exactly; scientific notation for very large or
    /// very small magnitudes (|value| >= 1e6, or a step below 1e-4).
    static func format(_ values: [Double], step: Double, mantissa: Double, exponent: Int) -> [String] {
        let largest = values.map(abs).max() ?? 0
        if largest >= 1e6 || step < 1e-4 {
            return values.map { value in value == 0 ? "0" : scientific(value) }
        }
        let decimals = max(0, -exponent + (mantissa == 2.5 ? 1 : 0))
        return values.map { fixed($0, decimals: decimals) }
    }

    /// `value` with exactly `decimals` decimals, never "-0".
    public static func fixed(_ value: Double, decimals: Int) -> String {
        let text = String(format: "%.\(decimals)f", value)
        let isNegativeZero = text.hasPrefix("-") && text.dropFirst().allSatisfy { $0 == "0" || $0 == "." }
        return isNegativeZero ? String(text.dropFirst()) : text
    }

    /// Shortest scientific form, e.g. 2.5e-05 -> "2.5e-5", 1000000 -> "1e6".
    static func scientific(_ value: Double) -> String {
        let exponent = Int(floor(log10(abs(value))))
        let mantissa = value / pow(10, Double(exponent))
        var digits = String(format: "%.3g", mantissa)
        if digits.contains(".") { while digits.hasSuffix("0") { digits.removeLast() }; if digits.hasSuffix(".") { digits.removeLast() } }
        return "\(digits)e\(exponent)"
    }
}

/// Formats a number compactly for annotations and legends: up to `significant` significant digits,
/// no trailing zeros, no float noise (0.1 stays "0.1"); non-finite values as "nan", "inf", "-inf".
public func compactNumber(_ value: Double, significant: Int = 3) -> String {
    guard value.isFinite else { return value.isNaN ? "nan" : (value > 0 ? "inf" : "-inf") }
    if value == 0 { return "0" }
    let magnitude = abs(value)
    if magnitude >= 1e6 || magnitude < 1e-4 { return NiceTicks.scientific(value) }
    let exponent = Int(floor(log10(magnitude)))
    let decimals = max(0, significant - 1 - exponent)
    var text = NiceTicks.fixed(value, decimals: decimals)
    if text.contains(".") {
        while text.hasSuffix("0") { text.removeLast() }
        if text.hasSuffix(".") { text.removeLast() }
    }
    return text
}

import Foundation
import Tensor

/// Deterministic random arrays for the tests.
struct TestRandom {
    var generator: SeededGenerator
    init(seed: UInt64) { generator = SeededGenerator(seed: seed) }
    /// `count` values uniform in [low, high).
    mutating func uniform(_ count: Int, _ low: Float = -1, _ high: Float = 1) -> [Float] {
        (0..<count).map { _ in generator.nextUniform(low, high) }
    }
    /// `count` labels in 0 ..< classes.
    mutating func labels(_ count: Int, classes: Int) -> [Int32] {
        (0..<count).map { _ in Int32(generator.next() % UInt64(classes)) }
    }
}

/// Whether `analytic` and `numeric` agree within atol + rtol * max(|analytic|, |numeric|).
func close(_ analytic: Float, _ numeric: Float, atol: Float, rtol: Float) -> Bool {
    abs(analytic - numeric) <= atol + rtol * max(abs(analytic), abs(numeric))
}

/// Largest |a - b| over two equally long sequences.
func maxAbsDifference<A: Collection<Float>, B: Collection<Float>>(_ a: A, _ b: B) -> Float {
    precondition(a.count == b.count, "lengths differ: \(a.count) vs \(b.count)")
    return zip(a, b).reduce(0) { max($0, abs($1.0 - $1.1)) }
}

/// Central finite difference of `loss` with respect to `values[index]` (restored afterwards).
func numericDerivative(_ values: UnsafeMutablePointer<Float>, _ index: Int, epsilon: Float, _ loss: () -> Double) -> Float {
    let saved = values[index]
    values[index] = saved + epsilon
    let plus = loss()
    values[index] = saved - epsilon
    let minus = loss()
    values[index] = saved
    return Float((plus - minus) / (2 * Double(epsilon)))
}

/// Sum of weights[i] * output[i] in Double: a scalar loss whose gradient with respect to the output is `weights`.
func weightedSum(_ output: UnsafePointer<Float>, _ weights: [Float]) -> Double {
    var total = 0.0
    for i in weights.indices { total += Double(output[i]) * Double(weights[i]) }
    return total
}

/// The PyTorch parity fixture: tensors in a raw little-endian file described by a JSON index
/// (Fixtures/parity.json + parity.bin, written by scripts/make_parity_fixture.py with parity.h5).
struct ParityFixture {
    struct Entry: Decodable { let name: String; let dtype: String; let shape: [Int]; let offset: Int }
    struct Index: Decodable {
        let generator: String, notation: String, imageSize: Int, head: [Int], labelCount: Int, batch: Int
        let learningRate: Float, momentum: Float, weightDecay: Float, nesterov: Bool
        /// SGD steps recorded (trajectory fixture only).
        let steps: Int?
        /// PyTorch float32's distance from float64 (trajectory fixture only): "losses" per step, else the largest
        /// |difference| over the tensor named by the key ("gradients/conv1.weight", "stepped/...", "statistics/...").
        let float32Distance: [String: Distance]?
        let tensors: [Entry]
    }
    /// A distance of the trajectory fixture: one number, or one per step.
    enum Distance: Decodable {
        case value(Double), perStep([Double])
        init(from decoder: Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let value = try? container.decode(Double.self) { self = .value(value) } else { self = .perStep(try container.decode([Double].self)) }
        }
        var value: Double { if case .value(let v) = self { return v }; return .nan }
        var perStep: [Double] { if case .perStep(let v) = self { return v }; return [] }
    }
    let index: Index
    let data: Data

    /// The fixture `name` (.json + .bin) among the test bundle's Fixtures, or in `folder` where given.
    init(name: String = "parity", folder: URL? = nil) throws {
        let jsonURL, binURL: URL
        if let folder {
            jsonURL = folder.appendingPathComponent(name + ".json")
            binURL = folder.appendingPathComponent(name + ".bin")
        } else {
            guard let json = Bundle.module.url(forResource: name, withExtension: "json", subdirectory: "Fixtures"),
                  let bin = Bundle.module.url(forResource: name, withExtension: "bin", subdirectory: "Fixtures")
            else { throw CocoaError(.fileNoSuchFile) }
            (jsonURL, binURL) = (json, bin)
        }
        index = try JSONDecoder().decode(Index.self, from: Data(contentsOf: jsonURL))
        data = try Data(contentsOf: binURL)
    }

    /// Whether the fixture holds `name`.
    func has(_ name: String) -> Bool { index.tensors.contains { $0.name == name } }

    private func entry(_ name: String) -> Entry {
        guard let entry = index.tensors.first(where: { $0.name == name }) else { fatalError("fixture has no \(name)") }
        return entry
    }

    /// The float32 tensor `name`, flattened.
    func floats(_ name: String) -> [Float] {
        let e = entry(name)
        let count = e.shape.reduce(1, *)
        return (0..<count).map { i in
            Float(bitPattern: UInt32(littleEndian: data.withUnsafeBytes {
                $0.loadUnaligned(fromByteOffset: (e.offset + i) * 4, as: UInt32.self)
            }))
        }
    }

    /// The uint8 tensor `name`, flattened.
    func bytes(_ name: String) -> [UInt8] {
        let e = entry(name)
        let count = e.shape.reduce(1, *)
        return [UInt8](data[(e.offset * 4)..<(e.offset * 4 + count)])
    }

    /// The int32 tensor `name`, flattened.
    func ints(_ name: String) -> [Int32] {
        let e = entry(name)
        let count = e.shape.reduce(1, *)
        return (0..<count).map { i in
            Int32(littleEndian: data.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: (e.offset + i) * 4, as: Int32.self) })
        }
    }
}

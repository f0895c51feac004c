import Tensor

/// A named slice of a `ParameterSet`'s flat buffer: `count` Floats from `offset`, row-major with `shape`.
public struct ParameterView: Sendable, Equatable {
    /// E.g. "conv1.weight", "conv1.bn.running_mean", "fc1.bias".
    public let name: String
    /// Index of the first Float in the flat buffer.
    public let offset: Int
    /// Row-major shape, e.g. [F, C, 3, 3] for a convolution weight.
    public let shape: [Int]
    /// Number of Floats (product of `shape`).
    public var count: Int { shape.reduce(1, *) }
}

/// Named tensors packed back to back, in declaration order, in one flat `FloatBuffer`.
public final class ParameterSet {
    /// The flat storage of every view.
    public let buffer: FloatBuffer
    /// The views in storage order.
    public let views: [ParameterView]
    private let indexByName: [String: Int]

    /// Packs tensors with these names and shapes (names must be unique); the buffer starts zeroed.
    public init(layout: [(name: String, shape: [Int])]) {
        var views: [ParameterView] = []
        var offset = 0
        for entry in layout {
            let view = ParameterView(name: entry.name, offset: offset, shape: entry.shape)
            views.append(view)
            offset += view.count
        }
        self.views = views
        buffer = FloatBuffer(count: offset)
        indexByName = Dictionary(uniqueKeysWithValues: views.enumerated().map { ($1.name, $0) })
    }

    /// A zeroed set with the same layout as `other`.
    public convenience init(sameLayoutAs other: ParameterSet) {
        self.init(layout: other.views.map { ($0.name, $0.shape) })
    }

    /// The view called `name`, or nil.
    public func view(named name: String) -> ParameterView? {
        indexByName[name].map { views[$0] }
    }

    /// The storage of the view called `name` (a missing name is a programming error and traps; use
    /// `view(named:)` to ask).
    public subscript(name: String) -> UnsafeMutableBufferPointer<Float> {
        guard let view = view(named: name) else {
            preconditionFailure("no parameter \"\(name)\"; known: \(views.map(\.name).joined(separator: ", "))")
        }
        return UnsafeMutableBufferPointer(start: buffer.pointer + view.offset, count: view.count)
    }

    /// Total number of Floats.
    public var count: Int { buffer.count }

    /// Copies every value from `other`, which must have the same layout.
    public func copy(from other: ParameterSet) {
        precondition(other.views == views, "parameter layouts differ")
        buffer.pointer.update(from: other.buffer.pointer, count: buffer.count)
    }
}

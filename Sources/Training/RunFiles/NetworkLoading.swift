import Engine
import RunStore

extension Network {
    /// Loads every parameter and batch-norm statistic from a run file, checking each shape.
    public func load(from reader: RunFileReader) throws(RunStoreError) {
        for set in [parameters, statistics] {
            for view in set.views {
                let (shape, values) = try reader.parameter(view.name)
                guard shape == view.shape else {
                    throw RunStoreError(path: reader.path, object: "/weights/" + view.name.replacingOccurrences(of: ".", with: "/"),
                                        problem: "shape \(shape), expected \(view.shape) for \(architecture.notation)",
                                        fix: "the run file does not match its configuration: re-run `filterlens train`")
                }
                let target = set[view.name]
                values.withUnsafeBufferPointer { target.baseAddress!.update(from: $0.baseAddress!, count: values.count) }
            }
        }
    }
}

import CHDF5

/// An HDF5 dataset: an N-dimensional row-major (C order) array of numbers. Thread safety: see `H5File`.
public final class H5Dataset: H5AttributeHolder, @unchecked Sendable {
    /// The open dataset id and its file.
    public let objectHandle: H5ObjectHandle

    init(_ handle: H5ObjectHandle) { objectHandle = handle }

    /// The dataset's full path inside the file, e.g. "/weights/conv1".
    public var name: String { objectHandle.objectPath }

    /// The current extent, slowest-varying dimension first ([] for a scalar dataset).
    public var shape: [Int] {
        enterLibrary(objectHandle.errorPath()); defer { leaveLibrary() }
        let space = H5Dget_space(objectHandle.id)
        guard space >= 0 else { _ = takeErrorStack(); return [] }
        defer { _ = H5Sclose(space) }
        return dataspaceShape(space)
    }

    /// The stored element type, or nil for types outside `H5ElementType` (strings, compounds, int16, ...).
    public var elementType: H5ElementType? {
        enterLibrary(objectHandle.errorPath()); defer { leaveLibrary() }
        let type = H5Dget_type(objectHandle.id)
        guard type >= 0 else { _ = takeErrorStack(); return nil }
        defer { _ = H5Tclose(type) }
        return H5ElementType(typeID: type)
    }

    /// Reads the whole dataset (product(shape) elements, row-major), converted by HDF5 to `T`.
    public func read<T: H5Scalar>(as: T.Type = T.self) throws(HDF5Error) -> [T] {
        enterLibrary(objectHandle.errorPath()); defer { leaveLibrary() }
        let count = elementCount(shape)
        guard count > 0 else { return [] }
        var status: herr_t = 0
        let values = [T](unsafeUninitializedCapacity: count) { buffer, initialized in
            status = H5Dread(objectHandle.id, T.h5Type.nativeTypeID, fl_H5S_ALL(), fl_H5S_ALL(), fl_H5P_DEFAULT(),
                             buffer.baseAddress)
            initialized = status < 0 ? 0 : count
        }
        try checked(status, "read dataset", objectHandle.errorPath())
        return values
    }

    /// Reads the block [start, start+count) (row-major, all dimensions given), product(count) elements.
    public func read<T: H5Scalar>(start: [Int], count: [Int], as: T.Type = T.self) throws(HDF5Error) -> [T] {
        enterLibrary(objectHandle.errorPath()); defer { leaveLibrary() }
        var status: HDF5Error?
        let total = count.contains { $0 < 0 } ? 0 : elementCount(count)   // a negative count throws below
        let values = [T](unsafeUninitializedCapacity: total) { buffer, initialized in
            do throws(HDF5Error) {
                try read(start: start, count: count, into: buffer)
                initialized = total
            } catch {
                status = error
                initialized = 0
            }
        }
        if let status { throw status }
        return values
    }

    /// Reads the block [start, start+count) into caller memory (no allocation); `into` must hold product(count)
    /// elements, which are stored row-major.
    public func read<T: H5Scalar>(start: [Int], count: [Int], into: UnsafeMutableBufferPointer<T>) throws(HDF5Error) {
        enterLibrary(objectHandle.errorPath()); defer { leaveLibrary() }
        let operation = "read dataset block"
        guard into.count >= elementCount(count) else {
            throw HDF5Error(operation: operation, path: objectHandle.errorPath(),
                            message: "buffer holds \(into.count) elements, block \(count) needs \(elementCount(count))")
        }
        try transferBlock(start: start, count: count, operation) { memorySpace, fileSpace in
            H5Dread(objectHandle.id, T.h5Type.nativeTypeID, memorySpace, fileSpace, fl_H5P_DEFAULT(), into.baseAddress)
        }
    }

    /// Writes the whole dataset from `values` (row-major, exactly product(shape) elements).
    public func write<T: H5Scalar>(_ values: [T]) throws(HDF5Error) {
        enterLibrary(objectHandle.errorPath()); defer { leaveLibrary() }
        let operation = "write dataset"
        let count = elementCount(shape)
        guard values.count == count else {
            throw HDF5Error(operation: operation, path: objectHandle.errorPath(),
                            message: "\(values.count) values for shape \(shape) (\(count) elements)")
        }
        guard count > 0 else { return }
        let status = values.withUnsafeBufferPointer { buffer in
            H5Dwrite(objectHandle.id, T.h5Type.nativeTypeID, fl_H5S_ALL(), fl_H5S_ALL(), fl_H5P_DEFAULT(),
                     buffer.baseAddress)
        }
        try checked(status, operation, objectHandle.errorPath())
    }

    /// Writes the block [start, start+count) from `values` (row-major, exactly product(count) elements).
    public func write<T: H5Scalar>(_ values: UnsafeBufferPointer<T>, start: [Int], count: [Int]) throws(HDF5Error) {
        enterLibrary(objectHandle.errorPath()); defer { leaveLibrary() }
        let operation = "write dataset block"
        guard values.count == elementCount(count) else {
            throw HDF5Error(operation: operation, path: objectHandle.errorPath(),
                            message: "\(values.count) values for block \(count) (\(elementCount(count)) elements)")
        }
        try transferBlock(start: start, count: count, operation) { memorySpace, fileSpace in
            H5Dwrite(objectHandle.id, T.h5Type.nativeTypeID, memorySpace, fileSpace, fl_H5P_DEFAULT(),
                     values.baseAddress)
        }
    }

    /// Changes the extent to `shape` (H5Dset_extent): within the maximum shape; chunked datasets only.
    public func extend(to shape: [Int]) throws(HDF5Error) {
        enterLibrary(objectHandle.errorPath()); defer { leaveLibrary() }
        let operation = "extend dataset to \(shape)"
        guard shape.count == self.shape.count, shape.allSatisfy({ $0 >= 0 }) else {
            throw HDF5Error(operation: operation, path: objectHandle.errorPath(),
                            message: "new shape must have rank \(self.shape.count) and no negative extent")
        }
        try checked(H5Dset_extent(objectHandle.id, shape.map { hsize_t($0) }), operation, objectHandle.errorPath())
    }

    /// Names the dimensions (one label per dimension, slowest first) as HDF5 dimension-scale labels
    /// (H5DSset_label; stored in the "DIMENSION_LABELS" attribute; h5py reads them as `dset.dims[i].label`).
    public func setDimensionLabels(_ labels: [String]) throws(HDF5Error) {
        enterLibrary(objectHandle.errorPath()); defer { leaveLibrary() }
        let operation = "set dimension labels"
        let rank = shape.count
        guard labels.count == rank, rank > 0 else {
            throw HDF5Error(operation: operation, path: objectHandle.errorPath(),
                            message: "\(labels.count) labels for a dataset of rank \(rank)")
        }
        for (index, label) in labels.enumerated() {
            try checked(H5DSset_label(objectHandle.id, UInt32(index), label), operation, objectHandle.errorPath())
        }
    }

    /// Makes this one-dimensional dataset a dimension scale named `name` (H5DSset_scale): its values are the
    /// coordinates of the dimensions it is attached to; netCDF-4 readers (xarray's h5netcdf engine, ncdump) see a
    /// dimension `name` with this coordinate variable.
    public func makeDimensionScale(_ name: String) throws(HDF5Error) {
        enterLibrary(objectHandle.errorPath()); defer { leaveLibrary() }
        try checked(H5DSset_scale(objectHandle.id, name), "make dimension scale \"\(name)\"", objectHandle.errorPath())
    }

    /// Attaches the dimension scale `scale` to dimension `dimension` (0 = slowest) of this dataset (H5DSattach_scale);
    /// the scale's length must equal that dimension's extent.
    public func attachDimensionScale(_ scale: H5Dataset, dimension: Int) throws(HDF5Error) {
        enterLibrary(objectHandle.errorPath()); defer { leaveLibrary() }
        let operation = "attach dimension scale \(scale.name) to dimension \(dimension)"
        let extent = shape
        guard extent.indices.contains(dimension), scale.shape == [extent[dimension]] else {
            throw HDF5Error(operation: operation, path: objectHandle.errorPath(),
                            message: "the scale's shape \(scale.shape) does not match dimension \(dimension) of \(extent)")
        }
        try checked(H5DSattach_scale(objectHandle.id, scale.objectHandle.id, UInt32(dimension)), operation, objectHandle.errorPath())
    }

    /// Whether this dataset is a dimension scale (H5DSis_scale).
    public func isDimensionScale() -> Bool {
        enterLibrary(objectHandle.errorPath()); defer { leaveLibrary() }
        return H5DSis_scale(objectHandle.id) > 0
    }

    /// The dimension labels, one per dimension ("" for an unlabelled one; [] for a scalar dataset).
    public func dimensionLabels() throws(HDF5Error) -> [String] {
        enterLibrary(objectHandle.errorPath()); defer { leaveLibrary() }
        let operation = "read dimension labels"
        var labels: [String] = []
        for index in 0..<UInt32(shape.count) {
            let length = try checked(H5DSget_label(objectHandle.id, index, nil, 0), operation, objectHandle.errorPath())
            var buffer = [CChar](repeating: 0, count: length + 1)
            try checked(H5DSget_label(objectHandle.id, index, &buffer, buffer.count), operation, objectHandle.errorPath())
            labels.append(decodeCString(buffer))
        }
        return labels
    }

    /// Validates the block [start, start+count) against the current extent, selects it in the file and in a
    /// memory space of extent `count`, and runs `transfer(memorySpace, fileSpace)` (an H5Dread or H5Dwrite).
    private func transferBlock(start: [Int], count: [Int], _ operation: String,
                               _ transfer: (hid_t, hid_t) -> herr_t) throws(HDF5Error) {
        let path = objectHandle.errorPath()
        let extent = shape
        guard start.count == extent.count, count.count == extent.count else {
            throw HDF5Error(operation: operation, path: path,
                            message: "block start \(start), count \(count) do not have the dataset's rank \(extent.count)")
        }
        for axis in extent.indices where start[axis] < 0 || count[axis] < 0 || start[axis] + count[axis] > extent[axis] {
            throw HDF5Error(operation: operation, path: path,
                            message: "block start \(start), count \(count) is outside the extent \(extent)")
        }
        guard elementCount(count) > 0 else { return }
        let fileSpace = try checked(H5Dget_space(objectHandle.id), operation, path)
        defer { _ = H5Sclose(fileSpace) }
        if !extent.isEmpty {
            try checked(H5Sselect_hyperslab(fileSpace, H5S_SELECT_SET, start.map { hsize_t($0) }, nil,
                                            count.map { hsize_t($0) }, nil), operation, path)
        }
        let memorySpace = try createDataspace(shape: count, operation, path)
        defer { _ = H5Sclose(memorySpace) }
        try checked(transfer(memorySpace, fileSpace), operation, path)
    }
}

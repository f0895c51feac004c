import CHDF5

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An HDF5 group ("/" or nested). Thread safety: see `H5File`.
public final class H5Group: H5AttributeHolder, @unchecked Sendable {
    /// The open group id and its file.
    public let objectHandle: H5ObjectHandle

    init(_ handle: H5ObjectHandle) { objectHandle = handle }

    /// The group's full path inside the file, e.g. "/" or "/weights".
    public var name: String { objectHandle.objectPath }

    /// Creates the group `name` (a relative path; missing intermediate groups are created too).
    public func createGroup(_ name: String) throws(HDF5Error) -> H5Group {
        enterLibrary(objectHandle.errorPath()); defer { leaveLibrary() }
        let operation = "create group"
        let path = objectHandle.errorPath(objectHandle.childPath(name))
        let links = try createIntermediateLinkProperties(operation, path)
        defer { _ = H5Pclose(links) }
        let id = try checked(H5Gcreate2(objectHandle.id, name, links, fl_H5P_DEFAULT(), fl_H5P_DEFAULT()),
                             operation, path)
        return H5Group(H5ObjectHandle(id: id, file: objectHandle.file))
    }

    /// Opens the existing group `name` (a relative path).
    public func openGroup(_ name: String) throws(HDF5Error) -> H5Group {
        enterLibrary(objectHandle.errorPath()); defer { leaveLibrary() }
        let path = objectHandle.errorPath(objectHandle.childPath(name))
        let id = try checked(H5Gopen2(objectHandle.id, name, fl_H5P_DEFAULT()), "open group", path)
        return H5Group(H5ObjectHandle(id: id, file: objectHandle.file))
    }

    /// Opens the group `name` if it exists, else creates it.
    public func group(_ name: String) throws(HDF5Error) -> H5Group {
        enterLibrary(objectHandle.errorPath()); defer { leaveLibrary() }
        return try contains(name) ? openGroup(name) : createGroup(name)
    }

    /// Whether a link `name` exists; a relative path such as "a/b" is checked component by component.
    public func contains(_ name: String) -> Bool {
        enterLibrary(objectHandle.errorPath()); defer { leaveLibrary() }
        var prefix = name.hasPrefix("/") ? "/" : ""
        let components = name.split(separator: "/")
        guard !components.isEmpty else { return false }
        for component in components {
            prefix += (prefix.isEmpty || prefix == "/" ? "" : "/") + component
            guard H5Lexists(objectHandle.id, prefix, fl_H5P_DEFAULT()) > 0 else {
                _ = takeErrorStack()
                return false
            }
        }
        return true
    }

    /// The names of the group's direct members (groups, datasets, other links), sorted.
    public func memberNames() throws(HDF5Error) -> [String] {
        enterLibrary(objectHandle.errorPath()); defer { leaveLibrary() }
        let operation = "list group members"
        var info = H5G_info_t()
        try checked(H5Gget_info(objectHandle.id, &info), operation, objectHandle.errorPath())
        var names: [String] = []
        for index in 0..<info.nlinks {
            let length = try checked(H5Lget_name_by_idx(objectHandle.id, ".", H5_INDEX_NAME, H5_ITER_INC, index,
                                                        nil, 0, fl_H5P_DEFAULT()), operation, objectHandle.errorPath())
            var buffer = [CChar](repeating: 0, count: length + 1)
            try checked(H5Lget_name_by_idx(objectHandle.id, ".", H5_INDEX_NAME, H5_ITER_INC, index,
                                           &buffer, buffer.count, fl_H5P_DEFAULT()), operation, objectHandle.errorPath())
            names.append(decodeCString(buffer))
        }
        return names.sorted()
    }

    /// Deletes the link `name` (H5Ldelete); the space of an unlinked object is not reclaimed in the file.
    public func remove(_ name: String) throws(HDF5Error) {
        enterLibrary(objectHandle.errorPath()); defer { leaveLibrary() }
        try checked(H5Ldelete(objectHandle.id, name, fl_H5P_DEFAULT()), "remove link",
                    objectHandle.errorPath(objectHandle.childPath(name)))
    }

    /// Creates a dataset of `type` elements with extent `shape` (row-major; [] = scalar).
    /// maxShape: nil = fixed; an entry nil = unlimited (needs chunk). chunk: chunk extent, same rank, entries > 0.
    /// compression: gzip level 1...9 (always preceded by the shuffle filter); only with chunk.
    /// Missing intermediate groups in `name` are created.
    public func createDataset(_ name: String, type: H5ElementType, shape: [Int], maxShape: [Int?]? = nil,
                              chunk: [Int]? = nil, compression: Int? = nil) throws(HDF5Error) -> H5Dataset {
        enterLibrary(objectHandle.errorPath()); defer { leaveLibrary() }
        let operation = "create dataset"
        let path = objectHandle.errorPath(objectHandle.childPath(name))
        func reject(_ reason: String) -> HDF5Error { HDF5Error(operation: operation, path: path, message: reason) }

        guard shape.allSatisfy({ $0 >= 0 }) else { throw reject("negative extent in shape \(shape)") }
        if let maxShape {
            guard maxShape.count == shape.count else {
                throw reject("maxShape \(maxShape) has rank \(maxShape.count), shape \(shape) has rank \(shape.count)")
            }
            for (size, limit) in zip(shape, maxShape) where limit.map({ $0 < size }) ?? false {
                throw reject("maxShape \(maxShape) is smaller than shape \(shape)")
            }
            if maxShape.contains(where: { $0 == nil }) && chunk == nil {
                throw reject("an unlimited dimension needs a chunk shape")
            }
        }
        if let chunk {
            guard !shape.isEmpty else { throw reject("a scalar dataset cannot be chunked") }
            guard chunk.count == shape.count, chunk.allSatisfy({ $0 > 0 }) else {
                throw reject("chunk \(chunk) must have rank \(shape.count) and positive entries")
            }
        }
        if let compression {
            guard chunk != nil else { throw reject("compression needs a chunk shape") }
            guard (1...9).contains(compression) else { throw reject("gzip level \(compression) is not in 1...9") }
        }

        let creation = try checked(H5Pcreate(fl_H5P_DATASET_CREATE()), operation, path)
        defer { _ = H5Pclose(creation) }
        if let chunk {
            try checked(H5Pset_chunk(creation, Int32(chunk.count), chunk.map { hsize_t($0) }), operation, path)
        }
        if let compression {
            try checked(H5Pset_shuffle(creation), operation, path)
            try checked(H5Pset_deflate(creation, UInt32(compression)), operation, path)
        }
        let space = try createDataspace(shape: shape, maxShape: maxShape, operation, path)
        defer { _ = H5Sclose(space) }
        let links = try createIntermediateLinkProperties(operation, path)
        defer { _ = H5Pclose(links) }
        let id = try checked(H5Dcreate2(objectHandle.id, name, type.nativeTypeID, space, links, creation,
                                        fl_H5P_DEFAULT()), operation, path)
        return H5Dataset(H5ObjectHandle(id: id, file: objectHandle.file))
    }

    /// Creates the dataset `name` with extent `shape` and writes `values` (row-major, product(shape) elements).
    @discardableResult
    public func write<T: H5Scalar>(_ name: String, _ values: [T], shape: [Int], chunk: [Int]? = nil,
                                   compression: Int? = nil) throws(HDF5Error) -> H5Dataset {
        enterLibrary(objectHandle.errorPath()); defer { leaveLibrary() }
        guard shape.allSatisfy({ $0 >= 0 }), values.count == elementCount(shape) else {
            throw HDF5Error(operation: "create dataset", path: objectHandle.errorPath(objectHandle.childPath(name)),
                            message: "\(values.count) values do not fill shape \(shape)")
        }
        let dataset = try createDataset(name, type: T.h5Type, shape: shape, chunk: chunk, compression: compression)
        try dataset.write(values)
        return dataset
    }

    /// Creates the one-dimensional dataset `name` of variable-length UTF-8 strings and writes `values` (label names,
    /// e.g., as a coordinate that netCDF-4 readers show).
    @discardableResult
    public func writeStrings(_ name: String, _ values: [String]) throws(HDF5Error) -> H5Dataset {
        enterLibrary(objectHandle.errorPath()); defer { leaveLibrary() }
        let operation = "create string dataset"
        let path = objectHandle.errorPath(objectHandle.childPath(name))
        let type = try createVariableStringType(H5T_CSET_UTF8, operation, path)
        defer { _ = H5Tclose(type) }
        let space = try createDataspace(shape: [values.count], operation, path)
        defer { _ = H5Sclose(space) }
        let links = try createIntermediateLinkProperties(operation, path)
        defer { _ = H5Pclose(links) }
        let id = try checked(H5Dcreate2(objectHandle.id, name, type, space, links, fl_H5P_DEFAULT(), fl_H5P_DEFAULT()),
                             operation, path)
        let dataset = H5Dataset(H5ObjectHandle(id: id, file: objectHandle.file))
        let cStrings = values.map { UnsafePointer(strdup($0)) }
        defer { cStrings.forEach { free(UnsafeMutablePointer(mutating: $0)) } }
        if !values.isEmpty {
            try checked(cStrings.withUnsafeBufferPointer { H5Dwrite(id, type, fl_H5S_ALL(), fl_H5S_ALL(), fl_H5P_DEFAULT(), $0.baseAddress) },
                        operation, path)
        }
        return dataset
    }

    /// Opens the existing dataset `name` (a relative path).
    public func openDataset(_ name: String) throws(HDF5Error) -> H5Dataset {
        enterLibrary(objectHandle.errorPath()); defer { leaveLibrary() }
        let path = objectHandle.errorPath(objectHandle.childPath(name))
        let id = try checked(H5Dopen2(objectHandle.id, name, fl_H5P_DEFAULT()), "open dataset", path)
        return H5Dataset(H5ObjectHandle(id: id, file: objectHandle.file))
    }

    /// Link-creation properties that create missing intermediate groups; the caller closes them.
    private func createIntermediateLinkProperties(_ operation: String, _ path: String) throws(HDF5Error) -> hid_t {
        let links = try checked(H5Pcreate(fl_H5P_LINK_CREATE()), operation, path)
        guard H5Pset_create_intermediate_group(links, 1) >= 0 else {
            _ = H5Pclose(links)
            throw libraryError(operation, path)
        }
        return links
    }
}

/// The UTF-8 text of a NUL-terminated (or NUL-padded) C character buffer.
func decodeCString<Bytes: Collection>(_ buffer: Bytes) -> String where Bytes.Element == CChar {
    String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

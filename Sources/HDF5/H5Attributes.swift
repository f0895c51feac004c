import CHDF5

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An HDF5 object that carries attributes: `H5Group` and `H5Dataset`. Thread safety: see `H5File`.
public protocol H5AttributeHolder: AnyObject {
    /// The open object the attributes belong to.
    var objectHandle: H5ObjectHandle { get }
}

/// Attributes reserved by the HDF5 dimension-scale API; `attributeNames()` leaves them out.
private let dimensionScaleAttributes: Set<String> = ["DIMENSION_LABELS", "DIMENSION_LIST", "REFERENCE_LIST"]

extension H5AttributeHolder {
    /// Sets a scalar variable-length UTF-8 string attribute (replacing an existing one).
    public func setAttribute(_ name: String, _ value: String) throws(HDF5Error) {
        enterLibrary(objectHandle.errorPath()); defer { leaveLibrary() }
        try objectHandle.writeStringAttribute(name, [value], shape: [])
    }

    /// Sets a scalar int64 attribute (replacing an existing one).
    public func setAttribute(_ name: String, _ value: Int) throws(HDF5Error) {
        enterLibrary(objectHandle.errorPath()); defer { leaveLibrary() }
        try objectHandle.writeNumericAttribute(name, [Int64(value)], shape: [])
    }

    /// Sets a scalar float64 attribute (replacing an existing one).
    public func setAttribute(_ name: String, _ value: Double) throws(HDF5Error) {
        enterLibrary(objectHandle.errorPath()); defer { leaveLibrary() }
        try objectHandle.writeNumericAttribute(name, [value], shape: [])
    }

    /// Sets a 1-D float64 attribute of `value.count` elements (replacing an existing one).
    public func setAttribute(_ name: String, _ value: [Double]) throws(HDF5Error) {
        enterLibrary(objectHandle.errorPath()); defer { leaveLibrary() }
        try objectHandle.writeNumericAttribute(name, value, shape: [value.count])
    }

    /// Sets a 1-D int64 attribute of `value.count` elements (replacing an existing one).
    public func setAttribute(_ name: String, _ value: [Int]) throws(HDF5Error) {
        enterLibrary(objectHandle.errorPath()); defer { leaveLibrary() }
        try objectHandle.writeNumericAttribute(name, value.map { Int64($0) }, shape: [value.count])
    }

    /// Sets a 1-D attribute of variable-length UTF-8 strings (replacing an existing one).
    public func setAttribute(_ name: String, _ value: [String]) throws(HDF5Error) {
        enterLibrary(objectHandle.errorPath()); defer { leaveLibrary() }
        try objectHandle.writeStringAttribute(name, value, shape: [value.count])
    }

    /// Whether the attribute `name` exists.
    public func hasAttribute(_ name: String) -> Bool {
        enterLibrary(objectHandle.errorPath()); defer { leaveLibrary() }
        let exists = H5Aexists(objectHandle.id, name)
        if exists < 0 { _ = takeErrorStack() }
        return exists > 0
    }

    /// Reads a string attribute holding one string (variable- or fixed-length, any rank).
    public func stringAttribute(_ name: String) throws(HDF5Error) -> String {
        enterLibrary(objectHandle.errorPath()); defer { leaveLibrary() }
        return try objectHandle.single(stringsAttribute(name), name)
    }

    /// Reads an integer attribute of any integer type holding one value.
    public func intAttribute(_ name: String) throws(HDF5Error) -> Int {
        enterLibrary(objectHandle.errorPath()); defer { leaveLibrary() }
        return try objectHandle.single(intsAttribute(name), name)
    }

    /// Reads a numeric (integer or floating-point) attribute holding one value, as a Double.
    public func doubleAttribute(_ name: String) throws(HDF5Error) -> Double {
        enterLibrary(objectHandle.errorPath()); defer { leaveLibrary() }
        return try objectHandle.single(doublesAttribute(name), name)
    }

    /// Reads all values of a numeric attribute (any rank, row-major), as Doubles.
    public func doublesAttribute(_ name: String) throws(HDF5Error) -> [Double] {
        enterLibrary(objectHandle.errorPath()); defer { leaveLibrary() }
        return try objectHandle.readNumericAttribute(name, as: Double.self, classes: [H5T_INTEGER, H5T_FLOAT])
    }

    /// Reads all values of an integer attribute (any integer type and rank, row-major).
    public func intsAttribute(_ name: String) throws(HDF5Error) -> [Int] {
        enterLibrary(objectHandle.errorPath()); defer { leaveLibrary() }
        return try objectHandle.readNumericAttribute(name, as: Int64.self, classes: [H5T_INTEGER]).map { Int($0) }
    }

    /// Reads all strings of a string attribute (variable- or fixed-length, any rank, row-major).
    public func stringsAttribute(_ name: String) throws(HDF5Error) -> [String] {
        enterLibrary(objectHandle.errorPath()); defer { leaveLibrary() }
        return try objectHandle.readStringAttribute(name)
    }

    /// The attribute names in name order, without the dimension-scale bookkeeping attributes
    /// (DIMENSION_LABELS, DIMENSION_LIST, REFERENCE_LIST).
    public func attributeNames() throws(HDF5Error) -> [String] {
        enterLibrary(objectHandle.errorPath()); defer { leaveLibrary() }
        var names: [String] = []
        let status = withUnsafeMutablePointer(to: &names) { pointer in
            H5Aiterate2(objectHandle.id, H5_INDEX_NAME, H5_ITER_INC, nil, { _, name, _, clientData in
                guard let name, let clientData else { return -1 }
                clientData.assumingMemoryBound(to: [String].self).pointee.append(String(cString: name))
                return 0
            }, pointer)
        }
        try checked(status, "list attributes", objectHandle.errorPath())
        return names.filter { !dimensionScaleAttributes.contains($0) }.sorted()
    }
}

extension H5ObjectHandle {
    /// The operation text naming attribute `name`, e.g. `read attribute "units"`.
    private func attributeOperation(_ verb: String, _ name: String) -> String { "\(verb) attribute \"\(name)\"" }

    /// The only element of `values`, read from attribute `name`; throws unless there is exactly one.
    func single<Value>(_ values: [Value], _ name: String) throws(HDF5Error) -> Value {
        guard values.count == 1, let value = values.first else {
            throw HDF5Error(operation: attributeOperation("read", name), path: errorPath(),
                            message: "expected one value, found \(values.count)")
        }
        return value
    }

    /// Creates attribute `name` of `fileType` and extent `shape` ([] = scalar), replacing an existing one,
    /// and fills it with `write(attributeID)` (an H5Awrite).
    private func createAttribute(_ name: String, fileType: hid_t, shape: [Int],
                                 _ write: (hid_t) -> herr_t) throws(HDF5Error) {
        let operation = attributeOperation("write", name)
        let exists = try checked(H5Aexists(id, name), operation, errorPath())
        if exists > 0 { try checked(H5Adelete(id, name), operation, errorPath()) }
        let space = try createDataspace(shape: shape, operation, errorPath())
        defer { _ = H5Sclose(space) }
        let attribute = try checked(H5Acreate2(id, name, fileType, space, fl_H5P_DEFAULT(), fl_H5P_DEFAULT()),
                                    operation, errorPath())
        defer { _ = H5Aclose(attribute) }
        try checked(write(attribute), operation, errorPath())
    }

    /// Writes a numeric attribute holding `values` (row-major) with extent `shape`.
    func writeNumericAttribute<T: H5Scalar>(_ name: String, _ values: [T], shape: [Int]) throws(HDF5Error) {
        let type = T.h5Type.nativeTypeID
        try createAttribute(name, fileType: type, shape: shape) { attribute in
            values.withUnsafeBufferPointer { H5Awrite(attribute, type, $0.baseAddress) }
        }
    }

    /// Writes a variable-length UTF-8 string attribute holding `values` with extent `shape`.
    func writeStringAttribute(_ name: String, _ values: [String], shape: [Int]) throws(HDF5Error) {
        let type = try createVariableStringType(H5T_CSET_UTF8, attributeOperation("write", name), errorPath())
        defer { _ = H5Tclose(type) }
        let cStrings = values.map { UnsafePointer(strdup($0)) }
        defer { cStrings.forEach { free(UnsafeMutablePointer(mutating: $0)) } }
        try createAttribute(name, fileType: type, shape: shape) { attribute in
            cStrings.withUnsafeBufferPointer { H5Awrite(attribute, type, $0.baseAddress) }
        }
    }

    /// Opens attribute `name` and runs `body(attribute, fileType, elementCount)`, closing everything after.
    private func withAttribute<Result>(_ name: String, _ operation: String,
                                       _ body: (hid_t, hid_t, Int) throws(HDF5Error) -> Result) throws(HDF5Error) -> Result {
        let attribute = try checked(H5Aopen(id, name, fl_H5P_DEFAULT()), operation, errorPath())
        defer { _ = H5Aclose(attribute) }
        let type = try checked(H5Aget_type(attribute), operation, errorPath())
        defer { _ = H5Tclose(type) }
        let space = try checked(H5Aget_space(attribute), operation, errorPath())
        defer { _ = H5Sclose(space) }
        let count = try checked(H5Sget_simple_extent_npoints(space), operation, errorPath())
        return try body(attribute, type, Int(count))
    }

    /// Reads all values of numeric attribute `name`, converted by HDF5 to `T`; its type class must be in `classes`.
    func readNumericAttribute<T: H5Scalar>(_ name: String, as: T.Type,
                                           classes: [H5T_class_t]) throws(HDF5Error) -> [T] {
        let operation = attributeOperation("read", name)
        return try withAttribute(name, operation) { attribute, type, count throws(HDF5Error) in
            guard classes.contains(H5Tget_class(type)) else {
                throw HDF5Error(operation: operation, path: errorPath(),
                                message: "stored type is not \(T.self == Double.self ? "numeric" : "an integer")")
            }
            guard count > 0 else { return [] }
            var status: herr_t = 0
            let values = [T](unsafeUninitializedCapacity: count) { buffer, initialized in
                status = H5Aread(attribute, T.h5Type.nativeTypeID, buffer.baseAddress)
                initialized = status < 0 ? 0 : count
            }
            try checked(status, operation, errorPath())
            return values
        }
    }

    /// Reads all strings of string attribute `name`, variable-length or fixed-length (NUL- or space-padded).
    func readStringAttribute(_ name: String) throws(HDF5Error) -> [String] {
        let operation = attributeOperation("read", name)
        return try withAttribute(name, operation) { attribute, type, count throws(HDF5Error) in
            guard H5Tget_class(type) == H5T_STRING else {
                throw HDF5Error(operation: operation, path: errorPath(), message: "stored type is not a string")
            }
            guard count > 0 else { return [] }
            if try checked(H5Tis_variable_str(type), operation, errorPath()) > 0 {
                let memoryType = try createVariableStringType(H5Tget_cset(type), operation, errorPath())
                defer { _ = H5Tclose(memoryType) }
                var pointers = [UnsafeMutablePointer<CChar>?](repeating: nil, count: count)
                try checked(H5Aread(attribute, memoryType, &pointers), operation, errorPath())
                let strings = pointers.map { $0.map { String(cString: $0) } ?? "" }
                let space = H5Aget_space(attribute)
                if space >= 0 {
                    _ = H5Dvlen_reclaim(memoryType, space, fl_H5P_DEFAULT(), &pointers)
                    _ = H5Sclose(space)
                }
                return strings
            }
            let size = H5Tget_size(type)
            guard size > 0 else { throw libraryError(operation, errorPath()) }
            var bytes = [CChar](repeating: 0, count: size * count)
            try checked(H5Aread(attribute, type, &bytes), operation, errorPath())
            let spacePadded = H5Tget_strpad(type) == H5T_STR_SPACEPAD
            return (0..<count).map { index in
                let text = decodeCString(bytes[(index * size)..<((index + 1) * size)])
                guard spacePadded else { return text }
                return String(text.reversed().drop(while: { $0 == " " }).reversed())
            }
        }
    }
}

import CHDF5

/// The numeric element types this module reads and writes; stored as the platform's native
/// (little-endian on x86-64 and arm64) IEEE floats and two's-complement integers.
public enum H5ElementType: Sendable {
    case float32, float64, int32, int64, uint8

    /// The HDF5 native type id used in memory (and for storage) of this element type.
    var nativeTypeID: hid_t {
        switch self {
        case .float32: fl_H5T_NATIVE_FLOAT()
        case .float64: fl_H5T_NATIVE_DOUBLE()
        case .int32: fl_H5T_NATIVE_INT32()
        case .int64: fl_H5T_NATIVE_INT64()
        case .uint8: fl_H5T_NATIVE_UINT8()
        }
    }

    /// The element type matching an HDF5 datatype, or nil for anything else (strings, compounds, int16, ...).
    init?(typeID: hid_t) {
        let size = H5Tget_size(typeID)
        switch H5Tget_class(typeID) {
        case H5T_FLOAT where size == 4: self = .float32
        case H5T_FLOAT where size == 8: self = .float64
        case H5T_INTEGER:
            let signed = H5Tget_sign(typeID) == H5T_SGN_2
            switch (size, signed) {
            case (4, true): self = .int32
            case (8, true): self = .int64
            case (1, false): self = .uint8
            default: return nil
            }
        default: return nil
        }
    }
}

/// A Swift scalar whose memory layout is the HDF5 native type `h5Type` (Float, Double, Int32, Int64, UInt8).
public protocol H5Scalar {
    /// The HDF5 element type with this scalar's memory layout.
    static var h5Type: H5ElementType { get }
}

extension Float: H5Scalar { public static var h5Type: H5ElementType { .float32 } }
extension Double: H5Scalar { public static var h5Type: H5ElementType { .float64 } }
extension Int32: H5Scalar { public static var h5Type: H5ElementType { .int32 } }
extension Int64: H5Scalar { public static var h5Type: H5ElementType { .int64 } }
extension UInt8: H5Scalar { public static var h5Type: H5ElementType { .uint8 } }

/// The number of elements of an array with the given shape (1 for the scalar shape []).
func elementCount(_ shape: [Int]) -> Int { shape.reduce(1, *) }

/// A dataspace for `shape` ([] = scalar) with optional maximum extents (nil entry = unlimited).
func createDataspace(shape: [Int], maxShape: [Int?]? = nil, _ operation: String,
                     _ path: String) throws(HDF5Error) -> hid_t {
    if shape.isEmpty { return try checked(H5Screate(H5S_SCALAR), operation, path) }
    let dims = shape.map { hsize_t($0) }
    guard let maxShape else { return try checked(H5Screate_simple(Int32(dims.count), dims, nil), operation, path) }
    let maxDims = maxShape.map { $0.map { hsize_t($0) } ?? fl_H5S_UNLIMITED() }
    return try checked(H5Screate_simple(Int32(dims.count), dims, maxDims), operation, path)
}

/// The extent of a dataspace ([] for a scalar or null dataspace).
func dataspaceShape(_ space: hid_t) -> [Int] {
    let rank = Int(H5Sget_simple_extent_ndims(space))
    guard rank > 0 else { return [] }
    var dims = [hsize_t](repeating: 0, count: rank)
    guard H5Sget_simple_extent_dims(space, &dims, nil) >= 0 else { return [] }
    return dims.map { Int($0) }
}

/// A variable-length C string type with the given character set (UTF-8 unless told); the caller closes it.
func createVariableStringType(_ characterSet: H5T_cset_t = H5T_CSET_UTF8, _ operation: String,
                              _ path: String) throws(HDF5Error) -> hid_t {
    let type = try checked(H5Tcopy(fl_H5T_C_S1()), operation, path)
    guard H5Tset_size(type, fl_H5T_VARIABLE()) >= 0, H5Tset_cset(type, characterSet) >= 0 else {
        _ = H5Tclose(type)
        throw libraryError(operation, path)
    }
    return type
}

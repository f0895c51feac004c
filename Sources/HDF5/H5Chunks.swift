import CHDF5

/// One filter of a chunked dataset's filter pipeline (H5Pget_filter2), in pipeline order.
public struct H5Filter: Equatable, Sendable {
    /// The filter id: 1 deflate (gzip), 2 shuffle, 3 Fletcher-32, 4 szip, 5 n-bit, 6 scale-offset, >= 256 plugins.
    public let id: Int
    /// H5Z_FLAG_* bits; 1 (H5Z_FLAG_OPTIONAL) when the writer may skip the filter for a chunk it does not help.
    public let flags: UInt32
    /// The filter's client data (cd_values): the gzip level for deflate, the element size in bytes for shuffle.
    public let parameters: [UInt32]

    /// Creates a filter description.
    public init(id: Int, flags: UInt32 = 0, parameters: [UInt32] = []) {
        self.id = id
        self.flags = flags
        self.parameters = parameters
    }

    /// HDF5's deflate (gzip, zlib-format stream) filter id.
    public static let deflateID = 1
    /// HDF5's byte shuffle filter id.
    public static let shuffleID = 2
}

/// One chunk as it is stored in the file, before the filter pipeline is undone.
public struct H5RawChunk: Sendable {
    /// Bytes of the stored (filtered) chunk, at the start of the buffer given to `readRawChunk`.
    public let byteCount: Int
    /// Bit i set: filter i of the pipeline was skipped for this chunk (an optional filter that did not help).
    public let filterMask: UInt32

    /// Whether filter `index` (0-based position in `H5Dataset.filters`) was applied to this chunk.
    public func applied(filter index: Int) -> Bool { index >= 32 || filterMask & (UInt32(1) << UInt32(index)) == 0 }
}

extension H5Dataset {
    /// The chunk shape (one extent per dimension, slowest first), or nil for a contiguous or compact dataset.
    public var chunkShape: [Int]? {
        enterLibrary(objectHandle.errorPath()); defer { leaveLibrary() }
        let creation = H5Dget_create_plist(objectHandle.id)
        guard creation >= 0 else { _ = takeErrorStack(); return nil }
        defer { _ = H5Pclose(creation) }
        guard H5Pget_layout(creation) == H5D_CHUNKED else { return nil }
        let rank = Int(datasetRank(objectHandle.id))
        guard rank > 0 else { return nil }
        var dims = [hsize_t](repeating: 0, count: rank)
        guard H5Pget_chunk(creation, Int32(rank), &dims) == Int32(rank) else { _ = takeErrorStack(); return nil }
        return dims.map { Int($0) }
    }

    /// The filter pipeline applied to each chunk when it is written, in order ([] for none or an unchunked dataset).
    /// Reading undoes it in reverse order.
    public func filters() throws(HDF5Error) -> [H5Filter] {
        enterLibrary(objectHandle.errorPath()); defer { leaveLibrary() }
        let operation = "read filter pipeline", path = objectHandle.errorPath()
        let creation = try checked(H5Dget_create_plist(objectHandle.id), operation, path)
        defer { _ = H5Pclose(creation) }
        let count = try checked(H5Pget_nfilters(creation), operation, path)
        var filters: [H5Filter] = []
        for index in 0..<UInt32(count) {
            var flags: UInt32 = 0, configuration: UInt32 = 0
            var parameterCount = 16
            var parameters = [UInt32](repeating: 0, count: parameterCount)
            var name = [CChar](repeating: 0, count: 64)
            let id = try checked(H5Pget_filter2(creation, index, &flags, &parameterCount, &parameters, name.count, &name,
                                                &configuration), operation, path)
            filters.append(H5Filter(id: Int(id), flags: flags, parameters: Array(parameters.prefix(min(parameterCount, 16)))))
        }
        return filters
    }

    /// Whether the stored element type is exactly `T`'s native type (same class, size, byte order and layout,
    /// H5Tequal), so stored bytes are `T`'s bytes with no conversion.
    public func storesExactly<T: H5Scalar>(_: T.Type) -> Bool {
        enterLibrary(objectHandle.errorPath()); defer { leaveLibrary() }
        let type = H5Dget_type(objectHandle.id)
        guard type >= 0 else { _ = takeErrorStack(); return false }
        defer { _ = H5Tclose(type) }
        let equal = H5Tequal(type, T.h5Type.nativeTypeID)
        if equal < 0 { _ = takeErrorStack() }
        return equal > 0
    }

    /// Reads the chunk whose first element is at `offset` (a multiple of the chunk shape in every dimension) as
    /// stored, filters not undone (H5Dget_chunk_storage_size, then H5Dread_chunk), into the start of `buffer`,
    /// which grows when the chunk needs more room. Returns nil when the chunk was never written (reading it
    /// through HDF5 gives the fill value). A stored size above `maxBytes` is refused as damage rather than
    /// allocated.
    public func readRawChunk(at offset: [Int], into buffer: inout [UInt8], maxBytes: Int) throws(HDF5Error) -> H5RawChunk? {
        let path = objectHandle.errorPath()
        enterLibrary(path + " (chunk at \(offset))"); defer { leaveLibrary() }
        let operation = "read chunk at \(offset)"
        let position = offset.map { hsize_t(max(0, $0)) }
        var stored: hsize_t = 0, address: haddr_t = 0, indexMask: UInt32 = 0
        try checked(H5Dget_chunk_info_by_coord(objectHandle.id, position, &indexMask, &address, &stored), operation, path)
        guard address != haddr_t.max, stored > 0 else { return nil }   // HADDR_UNDEF: never written
        guard stored <= hsize_t(maxBytes) else {
            throw HDF5Error(operation: operation, path: path,
                            message: "the chunk index gives \(stored) stored bytes, more than the \(maxBytes) a chunk of this dataset can take")
        }
        let byteCount = Int(stored)
        if buffer.count < byteCount { buffer = [UInt8](repeating: 0, count: byteCount) }
        var mask: UInt32 = 0
        let status = buffer.withUnsafeMutableBytes { bytes in
            H5Dread_chunk(objectHandle.id, fl_H5P_DEFAULT(), position, &mask, bytes.baseAddress)
        }
        try checked(status, operation, path)
        return H5RawChunk(byteCount: byteCount, filterMask: mask)
    }
}

/// The rank of a dataset's dataspace (-1 on failure), for `chunkShape`.
private func datasetRank(_ dataset: hid_t) -> Int32 {
    let space = H5Dget_space(dataset)
    guard space >= 0 else { _ = takeErrorStack(); return -1 }
    defer { _ = H5Sclose(space) }
    return H5Sget_simple_extent_ndims(space)
}

/// HDF5's byte shuffle filter (H5Z_FILTER_SHUFFLE), undone in Swift.
///
/// Shuffling n elements of s bytes each stores byte b of every element together: the stored chunk is s planes of n
/// bytes, plane b holding byte b (in memory order) of elements 0..<n, followed by the (chunk bytes mod s) bytes that
/// fill no whole element, unchanged.
public enum H5Shuffle {
    /// Writes elements `elements` (a sub-range of 0..<n, n = `byteCount / elementSize`) of the shuffled chunk
    /// `source` (`byteCount` bytes) unshuffled to `destination`, element `elements.lowerBound` first:
    /// `elements.count * elementSize` bytes. `destination` must not overlap `source`.
    public static func unshuffle(_ source: UnsafeRawPointer, byteCount: Int, elementSize: Int, elements: Range<Int>,
                                 into destination: UnsafeMutableRawPointer) {
        precondition(elementSize > 0 && byteCount >= 0, "element size must be positive")
        let n = byteCount / elementSize
        precondition(elements.lowerBound >= 0 && elements.upperBound <= n, "elements \(elements) outside 0..<\(n)")
        let bytes = source.assumingMemoryBound(to: UInt8.self)
        let count = elements.count
        if elementSize == 4 {
            let p0 = bytes + elements.lowerBound, p1 = p0 + n, p2 = p1 + n, p3 = p2 + n
            for i in 0..<count {
                let word = UInt32(p0[i]) | UInt32(p1[i]) << 8 | UInt32(p2[i]) << 16 | UInt32(p3[i]) << 24
                destination.storeBytes(of: UInt32(littleEndian: word), toByteOffset: 4 * i, as: UInt32.self)
            }
        } else {
            for i in 0..<count {
                for b in 0..<elementSize {
                    destination.storeBytes(of: bytes[b * n + elements.lowerBound + i], toByteOffset: i * elementSize + b, as: UInt8.self)
                }
            }
        }
    }
}

import CHDF5

/// An open HDF5 file; owns the file id and closes it (H5Fclose) when released (after its open groups
/// and datasets, which keep it alive).
///
/// Thread safety: HDF5 builds are not necessarily thread-safe (Debian's "serial" one is built thread-safe, others
/// are not). This module therefore runs every HDF5 call under one process-wide recursive lock, which makes
/// `H5File`, `H5Group` and `H5Dataset` safe to pass between threads (`@unchecked Sendable`), but calls never
/// run in parallel and a sequence of calls (extend, then write) is not atomic: use each file and its objects
/// from one thread at a time.
public final class H5File: @unchecked Sendable {
    /// The path the file was created or opened with.
    public let path: String
    /// The HDF5 file id.
    let id: hid_t

    private init(path: String, id: hid_t) {
        self.path = path
        self.id = id
    }

    deinit {
        enterLibrary(path); defer { leaveLibrary() }
        _ = H5Fclose(id)
    }

    /// Creates a new file at `path`, truncating any existing file, opened for writing.
    /// Objects use the HDF5 1.8 file format (readable by HDF5 >= 1.8, h5py, h5dump), which allows large attributes.
    public static func create(_ path: String) throws(HDF5Error) -> H5File {
        enterLibrary(path); defer { leaveLibrary() }
        let access = try checked(H5Pcreate(fl_H5P_FILE_ACCESS()), "create file", path)
        defer { _ = H5Pclose(access) }
        try checked(H5Pset_libver_bounds(access, H5F_LIBVER_V18, H5F_LIBVER_V18), "create file", path)
        let id = try checked(H5Fcreate(path, fl_H5F_ACC_TRUNC(), fl_H5P_DEFAULT(), access), "create file", path)
        return H5File(path: path, id: id)
    }

    /// Opens an existing HDF5 file, read-only unless `writable`.
    public static func open(_ path: String, writable: Bool = false) throws(HDF5Error) -> H5File {
        enterLibrary(path); defer { leaveLibrary() }
        let mode = writable ? fl_H5F_ACC_RDWR() : fl_H5F_ACC_RDONLY()
        let id = try checked(H5Fopen(path, mode, fl_H5P_DEFAULT()), "open file", path)
        let file = H5File(path: path, id: id)
        // A damaged file can open yet fail to yield its root group: find out here, where it can be reported.
        let root = H5Gopen2(id, "/", fl_H5P_DEFAULT())
        guard root >= 0 else { throw libraryError("open group \"/\"", path) }
        _ = H5Gclose(root)
        return file
    }

    /// The root group "/" (opened anew on each access; `open` has checked that it opens).
    public var root: H5Group {
        enterLibrary(path); defer { leaveLibrary() }
        let id = H5Gopen2(self.id, "/", fl_H5P_DEFAULT())
        precondition(id >= 0, "\(libraryError("open group \"/\"", path))")
        return H5Group(H5ObjectHandle(id: id, file: self))
    }

    /// Writes all buffered data of this file to disk (H5Fflush, local scope).
    public func flush() throws(HDF5Error) {
        enterLibrary(path); defer { leaveLibrary() }
        try checked(H5Fflush(id, H5F_SCOPE_LOCAL), "flush file", path)
    }

    /// Whether `path` is a readable HDF5 file; false for a missing, unreadable or foreign file.
    public static func isHDF5(_ path: String) -> Bool {
        enterLibrary(path); defer { leaveLibrary() }
        defer { _ = takeErrorStack() }
        return fl_H5Fis_accessible(path) > 0
    }
}

/// An open HDF5 group or dataset id, owned (closed by H5Oclose when released); it keeps its file open.
/// Opaque outside this module: it is what attribute access (`H5AttributeHolder`) works on.
public final class H5ObjectHandle: @unchecked Sendable {
    /// The HDF5 object id.
    let id: hid_t
    /// The file the object lives in (kept alive while the object is open).
    let file: H5File
    /// The object's absolute path inside the file, e.g. "/weights/conv1".
    let objectPath: String

    /// Takes ownership of `id`, an open group or dataset of `file`.
    init(id: hid_t, file: H5File) {
        self.id = id
        self.file = file
        let length = H5Iget_name(id, nil, 0)
        if length > 0 {
            var buffer = [CChar](repeating: 0, count: length + 1)
            _ = H5Iget_name(id, &buffer, buffer.count)
            objectPath = String(decoding: buffer.prefix(length).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        } else {
            objectPath = "/"
        }
    }

    deinit {
        enterLibrary(errorPath()); defer { leaveLibrary() }
        _ = H5Oclose(id)
    }

    /// The absolute in-file path of `name` taken relative to this object ("/" + name for the root group).
    func childPath(_ name: String) -> String {
        if name.hasPrefix("/") { return name }
        return objectPath == "/" ? "/" + name : objectPath + "/" + name
    }

    /// The path used in errors: the file path followed by the in-file path (nothing for the root group).
    func errorPath(_ inFilePath: String? = nil) -> String {
        let inFile = inFilePath ?? objectPath
        return inFile == "/" ? file.path : file.path + inFile
    }
}

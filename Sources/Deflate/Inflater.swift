import CDeflate

/// A zlib stream that libdeflate could not inflate into the buffer given: the library's result code and its meaning.
public struct DeflateError: Error, CustomStringConvertible, Sendable, Equatable {
    /// libdeflate's outcome of a failed call.
    public enum Reason: Sendable, Equatable {
        /// LIBDEFLATE_BAD_DATA: the compressed data is invalid or corrupt (a bad header, block or Adler-32 checksum).
        case badData
        /// LIBDEFLATE_SHORT_OUTPUT: the data inflates to fewer bytes than expected.
        case shortOutput
        /// LIBDEFLATE_INSUFFICIENT_SPACE: the data inflates to more bytes than expected.
        case insufficientSpace
        /// A result code this wrapper does not know (a newer libdeflate), or the decompressor could not be allocated.
        case other(Int)
    }

    /// Why the call failed.
    public let reason: Reason

    /// Creates the error of a libdeflate result code.
    public init(reason: Reason) { self.reason = reason }

    /// One phrase: what libdeflate reported, with the result code's name, e.g.
    /// "libdeflate: the compressed data is invalid or corrupt (LIBDEFLATE_BAD_DATA)".
    public var description: String {
        switch reason {
        case .badData: "libdeflate: the compressed data is invalid or corrupt (LIBDEFLATE_BAD_DATA)"
        case .shortOutput: "libdeflate: the data inflates to fewer bytes than the chunk holds (LIBDEFLATE_SHORT_OUTPUT)"
        case .insufficientSpace: "libdeflate: the data inflates to more bytes than the chunk holds (LIBDEFLATE_INSUFFICIENT_SPACE)"
        case .other(let code) where code < 0: "libdeflate: cannot allocate a decompressor"
        case .other(let code): "libdeflate: decompression failed (result code \(code))"
        }
    }
}

/// One libdeflate decompressor: inflates whole zlib streams (RFC 1950, what HDF5's deflate filter writes) from one
/// buffer into another, checking the Adler-32 checksum.
///
/// Thread safety: a decompressor holds scratch state, so each thread needs its own `Inflater`; different
/// `Inflater`s run in parallel freely.
public final class Inflater {
    private let decompressor: OpaquePointer

    /// Allocates the decompressor (about 32 KB); throws when libdeflate cannot allocate it.
    public init() throws(DeflateError) {
        guard let decompressor = libdeflate_alloc_decompressor() else { throw DeflateError(reason: .other(-1)) }
        self.decompressor = decompressor
    }

    deinit { libdeflate_free_decompressor(decompressor) }

    /// Inflates the zlib stream at the start of `input` into `output`, which it must fill exactly: a stream that
    /// inflates to fewer or more bytes than `output.count` is an error, as is a corrupt stream or checksum.
    /// Bytes after the end of the stream in `input` are ignored (as zlib's `inflate` ignores them).
    public func inflateZlib(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws(DeflateError) {
        // libdeflate dereferences neither pointer for an empty buffer, but wants non-null ones.
        var empty: UInt8 = 0
        let result = withUnsafeMutablePointer(to: &empty) { placeholder in
            libdeflate_zlib_decompress(decompressor, input.baseAddress ?? UnsafeRawPointer(placeholder), input.count,
                                       output.baseAddress ?? UnsafeMutableRawPointer(placeholder), output.count, nil)
        }
        switch result {
        case LIBDEFLATE_SUCCESS: return
        case LIBDEFLATE_BAD_DATA: throw DeflateError(reason: .badData)
        case LIBDEFLATE_SHORT_OUTPUT: throw DeflateError(reason: .shortOutput)
        case LIBDEFLATE_INSUFFICIENT_SPACE: throw DeflateError(reason: .insufficientSpace)
        default: throw DeflateError(reason: .other(Int(result.rawValue)))
        }
    }
}

/// The linked libdeflate.
public enum DeflateLibrary {
    /// The version of the libdeflate headers this module was built against, e.g. "1.14".
    public static let version = LIBDEFLATE_VERSION_STRING
}

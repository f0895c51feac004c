import Files
import Foundation

/// One of the dataset authors' official binary archives (https://www.cs.toronto.edu/~kriz/cifar.html).
public struct OfficialArchive: Sendable {
    /// The layout the archive unpacks to.
    public let format: DatasetFormat
    /// Its file name.
    public let fileName: String
    /// Where the authors serve it.
    public let url: URL
    /// The published MD5.
    public let md5: String
    /// Its size in bytes.
    public let size: Int64
    /// Members that must be in the archive, as paths inside it (`<folder>/<file>`).
    public let requiredMembers: [String]
    /// Members extracted when present.
    public let optionalMembers: [String]

    /// `cifar-10-binary.tar.gz`: 170,052,171 bytes, MD5 c32a1d4ab5d03f1284b67883e8d87530.
    public static let cifar10 = OfficialArchive(
        format: .cifar10, fileName: "cifar-10-binary.tar.gz",
        url: URL(string: "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz")!,
        md5: "c32a1d4ab5d03f1284b67883e8d87530", size: 170_052_171,
        requiredMembers: (CIFAR10.Split.train.fileNames + CIFAR10.Split.test.fileNames).map { "\(CIFAR10.folderName)/\($0)" },
        optionalMembers: ["batches.meta.txt", "readme.html"].map { "\(CIFAR10.folderName)/\($0)" })

    /// `cifar-100-binary.tar.gz`: 168,513,733 bytes, MD5 03b5dce01913d631647c71ecec9e9cb8.
    public static let cifar100 = OfficialArchive(
        format: .cifar100, fileName: "cifar-100-binary.tar.gz",
        url: URL(string: "https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz")!,
        md5: "03b5dce01913d631647c71ecec9e9cb8", size: 168_513_733,
        requiredMembers: ["train.bin", "test.bin", "fine_label_names.txt", "coarse_label_names.txt"]
            .map { "\(CIFAR100.folderName)/\($0)" },
        optionalMembers: [])

    /// Both archives.
    public static let all = [cifar10, cifar100]

    /// The archive of `format`.
    public static func of(_ format: DatasetFormat) -> OfficialArchive {
        format == .cifar10 ? cifar10 : cifar100
    }

    /// The largest member FilterLens extracts (CIFAR-100's train.bin is 153,700,000 bytes).
    public static let largestMember: Int64 = 256 << 20
}

/// What `ArchivePreparation.prepare` did.
public struct PreparedArchive: Sendable {
    /// The data's folder, in place.
    public let directory: URL
    /// The data set it holds.
    public let format: DatasetFormat
    /// MD5 of the archive.
    public let md5: String
    /// Whether `md5` is the official one.
    public let isOfficial: Bool
    /// Archive members passed over (not among the expected ones).
    public let skippedMembers: [String]
    /// The note written beside the files.
    public let note: DataNote
}

/// Unpacks an official archive (or one in its layout) into place: only the expected members, as regular files,
/// written under their own names into a staging folder that is validated and then renamed into place, so no member
/// can write outside it and an interrupted or failed preparation leaves the old data or none.
public enum ArchivePreparation {
    /// Unpacks `archive` (gzip-compressed tar, read with `gzip -dc`) into `destination/<folder>`.
    ///
    /// - Parameters:
    ///   - expectedMD5: the checksum the caller insists on (a mismatch is an error); nil compares with the official one.
    ///   - strictOfficial: make a mismatch with the official MD5 an error (downloads) instead of a warning.
    ///   - warn: receives warnings (an unofficial archive, skipped members).
    public static func prepare(archive: URL, destination: URL, expectedMD5: String? = nil, strictOfficial: Bool = false,
                               warn: (String) -> Void) throws(CIFARError) -> PreparedArchive {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: archive.path, isDirectory: &isDirectory), !isDirectory.boolValue else {
            throw CIFARError(path: archive.path, problem: "archive not found",
                             fix: "pass --from with the path of cifar-10-binary.tar.gz or cifar-100-binary.tar.gz, or use --download")
        }
        let md5 = try MD5.hex(file: archive)
        TemporaryFile.removeStale(in: destination)   // staging folders of killed prepares
        let staging = TemporaryFile.url(for: destination.appendingPathComponent("prepare"))
        do {
            try FileManager.default.createDirectory(at: staging, withIntermediateDirectories: true)
        } catch {
            throw CIFARError(path: destination.path, problem: "cannot create the directory: \(error.localizedDescription)",
                             fix: "choose a writable --out directory")
        }
        defer { try? FileManager.default.removeItem(at: staging) }
        let (format, skipped) = try extract(archive: archive, into: staging)
        let official = OfficialArchive.of(format)
        let folder = staging.appendingPathComponent(format.folderName)
        if let expectedMD5, expectedMD5.lowercased() != md5 {
            throw CIFARError(path: archive.path, problem: "MD5 \(md5) differs from the expected \(expectedMD5.lowercased())",
                             fix: "the archive is damaged or not the one you meant: fetch it again, or pass the --md5 it should have")
        }
        let isOfficial = md5 == official.md5
        if !isOfficial && expectedMD5 == nil {
            if strictOfficial {
                throw CIFARError(path: archive.path, problem: "MD5 \(md5) differs from the official \(official.md5) of \(official.fileName)",
                                 fix: "the download is damaged or not the official archive: retry, or pass --md5 with the checksum you expect")
            }
            warn("\(archive.path): MD5 \(md5) is not the official \(official.md5) of \(official.fileName); using it anyway, and every run records this checksum")
        }
        if !skipped.isEmpty {
            warn("\(archive.path): passed over \(skipped.count) member(s) not part of \(format.displayName): "
                 + skipped.prefix(5).joined(separator: ", ") + (skipped.count > 5 ? ", ..." : ""))
        }
        // Validate what was unpacked with the readers before it goes into place.
        for set in (format == .cifar100 ? [LabelSet.fine, .coarse] : [LabelSet.fine]) {
            let dataset = try Dataset(format: format, directory: folder, labelSet: set)
            for split in CIFAR10.Split.allCases { _ = try dataset.load(split) }
        }
        let name: String
        if isOfficial {
            name = "\(format.displayName) (official binary archive)"
        } else if let expectedMD5, expectedMD5.lowercased() == md5 {
            name = "\(format.displayName) (archive \(archive.lastPathComponent), MD5 \(md5))"
        } else {
            name = "\(format.displayName) (archive \(archive.lastPathComponent), not the official MD5)"
        }
        let note = DataNote(name: name, md5: md5, archive: archive.lastPathComponent)
        let final = destination.appendingPathComponent(format.folderName)
        do {
            try Data(note.text.utf8).write(to: folder.appendingPathComponent(DataNote.fileName))
            try FolderPlacement.place(folder, at: final)
        } catch {
            throw CIFARError(path: final.path, problem: "cannot move the unpacked files into place: \(error.localizedDescription)",
                             fix: "check free disk space and permissions of \(destination.path)")
        }
        return PreparedArchive(directory: final, format: format, md5: md5, isOfficial: isOfficial, skippedMembers: skipped, note: note)
    }

    /// Streams the archive through `gzip -dc` and writes the expected members into `staging/<folder>/`; returns the
    /// data set they form and the members passed over.
    static func extract(archive: URL, into staging: URL) throws(CIFARError) -> (DatasetFormat, [String]) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["gzip", "-dc", "--", archive.path]
        let output = Pipe(), errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        do {
            try process.run()
        } catch {
            throw CIFARError(path: archive.path, problem: "cannot run gzip: \(error.localizedDescription)", fix: "install gzip")
        }
        // A child of this process may start with SIGTERM blocked (Foundation spawns from threads that block signals),
        // so an extraction that stops early ends gzip with SIGKILL, which cannot be blocked.
        func stopGzip() {
            try? output.fileHandleForReading.close()
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
        }
        defer { if process.isRunning { stopGzip() } }
        var reader = TarReader(stream: PipeStream(handle: output.fileHandleForReading), path: archive.path)
        var format: DatasetFormat?
        var written = Set<String>()
        var skipped: [String] = []
        let gzipFailure = { () -> CIFARError? in
            process.waitUntilExit()
            guard process.terminationStatus != 0 else { return nil }
            let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            let line = message.split(separator: "\n").last.map(String.init) ?? "exit \(process.terminationStatus)"
            return CIFARError(path: archive.path, problem: "not a complete gzip file (gzip: \(line))",
                              fix: "the archive is truncated or damaged: fetch it again")
        }
        do throws(CIFARError) {
            while let entry = try reader.next() {
                let name = TarReader.normalized(entry.name)
                let owner = OfficialArchive.all.first { ($0.requiredMembers + $0.optionalMembers).contains(name) }
                guard let owner else {
                    if entry.type != .directory { skipped.append(entry.name) }
                    try reader.skipContents(of: entry)
                    continue
                }
                if let format, format != owner.format {
                    throw CIFARError(path: archive.path, problem: "holds members of both \(format.displayName) and \(owner.format.displayName) (\(name))",
                                     fix: "use an official archive, which holds one data set")
                }
                format = owner.format
                guard entry.type == .regular else {
                    throw CIFARError(path: archive.path, problem: "member \(name) is a \(entry.type.rawValue), not a regular file",
                                     fix: "use the official archive; FilterLens extracts only regular files")
                }
                guard !written.contains(name) else {
                    throw CIFARError(path: archive.path, problem: "member \(name) appears twice",
                                     fix: "use the official archive")
                }
                guard entry.size <= OfficialArchive.largestMember else {
                    throw CIFARError(path: archive.path, problem: "member \(name) is \(entry.size) bytes, more than any CIFAR file",
                                     fix: "use the official archive")
                }
                let folder = staging.appendingPathComponent(owner.format.folderName)
                let target = folder.appendingPathComponent(String(name.split(separator: "/").last!))
                do {
                    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
                } catch {
                    throw CIFARError(path: folder.path, problem: "cannot create: \(error.localizedDescription)", fix: "check the --out directory")
                }
                try reader.writeContents(of: entry, to: target)
                written.insert(name)
            }
            try reader.drain()   // what follows the end blocks, so gzip can finish writing
        } catch {
            if process.isRunning {
                stopGzip()
                throw error
            }
            if let failure = gzipFailure() { throw failure }
            throw error
        }
        if let failure = gzipFailure() { throw failure }
        guard let format else {
            throw CIFARError(path: archive.path, problem: "holds none of the files of \(CIFAR10.folderName)/ or \(CIFAR100.folderName)/",
                             fix: "pass cifar-10-binary.tar.gz or cifar-100-binary.tar.gz (the binary versions, not the Python or MATLAB ones)")
        }
        let missing = OfficialArchive.of(format).requiredMembers.filter { !written.contains($0) }
        guard missing.isEmpty else {
            throw CIFARError(path: archive.path, problem: "lacks \(missing.joined(separator: ", "))",
                             fix: "the archive is incomplete: fetch the official \(OfficialArchive.of(format).fileName) again")
        }
        return (format, skipped)
    }
}

/// Reads a pipe in pieces.
struct PipeStream {
    let handle: FileHandle

    /// Up to `count` bytes; empty at the end.
    func read(_ count: Int) throws(CIFARError) -> Data {
        do {
            return try handle.read(upToCount: count) ?? Data()
        } catch {
            throw CIFARError(path: "gzip output", problem: "read failed: \(error.localizedDescription)", fix: "retry")
        }
    }
}

/// A streaming reader of (ustar, GNU and pax) tar archives that never touches the file system on its own: the
/// caller decides which entries to write and where.
struct TarReader {
    /// Entry types FilterLens tells apart.
    enum EntryType: String {
        case regular = "regular file", directory, symbolicLink = "symbolic link", hardLink = "hard link", other = "special file"
    }

    /// One archive member.
    struct Entry {
        var name: String
        var type: EntryType
        var size: Int64
    }

    private var stream: PipeStream
    private var buffer = Data()
    private let path: String
    private var offset: Int64 = 0

    init(stream: PipeStream, path: String) {
        self.stream = stream
        self.path = path
    }

    /// A member name without leading "./" (the name as the archive's root-relative path).
    static func normalized(_ name: String) -> String {
        var name = name
        while name.hasPrefix("./") { name.removeFirst(2) }
        return name
    }

    /// Exactly `count` bytes, or fewer at the end of the stream.
    private mutating func take(_ count: Int) throws(CIFARError) -> Data {
        while buffer.count < count {
            let piece = try stream.read(max(1 << 20, count - buffer.count))
            if piece.isEmpty { break }
            buffer.append(piece)
        }
        let n = min(count, buffer.count)
        let result = buffer.prefix(n)
        buffer.removeFirst(n)
        offset += Int64(n)
        return Data(result)
    }

    private func truncated(_ what: String) -> CIFARError {
        CIFARError(path: path, offset: Int(offset), problem: "the tar stream ends inside \(what)",
                   fix: "the archive is truncated: fetch it again")
    }

    /// The next member (long names and pax paths resolved), or nil at the end of the archive.
    mutating func next() throws(CIFARError) -> Entry? {
        var longName: String?
        while true {
            let header = try take(512)
            if header.isEmpty { return nil }   // end without the two zero blocks: accepted, as GNU tar does
            guard header.count == 512 else { throw truncated("a header") }
            if header.allSatisfy({ $0 == 0 }) { return nil }
            let bytes = [UInt8](header)
            let stored = Self.octal(bytes[148..<156])
            let sum = bytes.enumerated().reduce(0) { $0 + Int(($1.offset >= 148 && $1.offset < 156) ? 32 : $1.element) }
            guard let stored, Int(stored) == sum else {
                throw CIFARError(path: path, offset: Int(offset) - 512, problem: "not a tar archive (header checksum fails)",
                                 fix: "pass the official binary archive, a gzip-compressed tar")
            }
            guard let size = Self.size(bytes[124..<136]), size >= 0 else {
                throw CIFARError(path: path, offset: Int(offset) - 512, problem: "unreadable member size", fix: "use the official archive")
            }
            let flag = bytes[156]
            switch flag {
            case UInt8(ascii: "L"):   // GNU long name: the data is the next member's name
                longName = Self.string(try contents(size: size))
                continue
            case UInt8(ascii: "x"):   // pax extended header: take its path
                let text = String(decoding: try contents(size: size), as: UTF8.self)
                if let path = Self.paxPath(text) { longName = path }
                continue
            case UInt8(ascii: "g"), UInt8(ascii: "K"):
                _ = try contents(size: size)
                continue
            default:
                break
            }
            var name = Self.string(bytes[0..<100])
            let magic = Self.string(bytes[257..<263])
            if magic.hasPrefix("ustar") {
                let prefix = Self.string(bytes[345..<500])
                if !prefix.isEmpty { name = prefix + "/" + name }
            }
            if let longName { name = longName }
            let type: EntryType
            switch flag {
            case 0, UInt8(ascii: "0"), UInt8(ascii: "7"): type = .regular
            case UInt8(ascii: "5"): type = .directory
            case UInt8(ascii: "2"): type = .symbolicLink
            case UInt8(ascii: "1"): type = .hardLink
            default: type = .other
            }
            return Entry(name: name, type: type, size: type == .regular ? size : (type == .directory ? 0 : size))
        }
    }

    /// Reads a (small) member's whole contents and its padding.
    private mutating func contents(size: Int64) throws(CIFARError) -> Data {
        guard size <= 1 << 20 else {
            throw CIFARError(path: path, offset: Int(offset), problem: "an extended header of \(size) bytes", fix: "use the official archive")
        }
        let data = try take(Int(size))
        guard data.count == Int(size) else { throw truncated("an extended header") }
        try skipPadding(size)
        return data
    }

    private mutating func skipPadding(_ size: Int64) throws(CIFARError) {
        let padding = Int((512 - size % 512) % 512)
        if padding > 0, try take(padding).count != padding { throw truncated("padding") }
    }

    /// Reads and discards the rest of the stream.
    mutating func drain() throws(CIFARError) {
        buffer.removeAll()
        while !(try stream.read(1 << 20)).isEmpty {}
    }

    /// Passes over `entry`'s contents.
    mutating func skipContents(of entry: Entry) throws(CIFARError) {
        var left = entry.size
        while left > 0 {
            let piece = try take(Int(min(left, 1 << 20)))
            if piece.isEmpty { throw truncated("member \(entry.name)") }
            left -= Int64(piece.count)
        }
        try skipPadding(entry.size)
    }

    /// Writes `entry`'s contents to a new regular file at `url` (never following a link there).
    mutating func writeContents(of entry: Entry, to url: URL) throws(CIFARError) {
        guard FileManager.default.createFile(atPath: url.path, contents: nil),
              let handle = FileHandle(forWritingAtPath: url.path) else {
            throw CIFARError(path: url.path, problem: "cannot create the file", fix: "check the --out directory")
        }
        defer { try? handle.close() }
        var left = entry.size
        while left > 0 {
            let piece = try take(Int(min(left, 1 << 20)))
            if piece.isEmpty { throw truncated("member \(entry.name)") }
            do {
                try handle.write(contentsOf: piece)
            } catch {
                throw CIFARError(path: url.path, problem: "write failed: \(error.localizedDescription)", fix: "check free disk space")
            }
            left -= Int64(piece.count)
        }
        try skipPadding(entry.size)
    }

    /// A NUL-terminated field.
    static func string(_ bytes: some Collection<UInt8>) -> String {
        String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
    }

    /// An octal field (spaces and NULs around it allowed).
    static func octal(_ bytes: ArraySlice<UInt8>) -> Int64? {
        let text = string(bytes).trimmingCharacters(in: .whitespaces)
        return text.isEmpty ? 0 : Int64(text, radix: 8)
    }

    /// A size field: octal, or GNU base-256 when the first byte's high bit is set.
    static func size(_ bytes: ArraySlice<UInt8>) -> Int64? {
        guard let first = bytes.first, first & 0x80 != 0 else { return octal(bytes) }
        var value: Int64 = Int64(first & 0x7f)
        for byte in bytes.dropFirst() {
            guard value < Int64.max >> 8 else { return nil }
            value = value << 8 | Int64(byte)
        }
        return value
    }

    /// The "path" record of a pax header ("<length> path=<value>\n" records).
    static func paxPath(_ text: String) -> String? {
        for record in text.split(separator: "\n") {
            guard let space = record.firstIndex(of: " ") else { continue }
            let field = record[record.index(after: space)...]
            if field.hasPrefix("path=") { return String(field.dropFirst(5)) }
        }
        return nil
    }
}

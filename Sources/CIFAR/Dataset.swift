import Foundation

/// Pixel geometry of a data set's images: `channels` planes of `side` x `side` bytes, each row-major, plane after
/// plane (R, G, B).
public struct ImageGeometry: Sendable, Equatable {
    /// Image side in pixels.
    public let side: Int
    /// Colour channels.
    public let channels: Int
    /// Pixel bytes per image: channels x side x side.
    public var pixelsPerImage: Int { channels * side * side }

    public init(side: Int, channels: Int) {
        self.side = side
        self.channels = channels
    }

    /// CIFAR-10 and CIFAR-100: 3 x 32 x 32 (3,072 bytes).
    public static let cifar = ImageGeometry(side: 32, channels: 3)
}

/// The binary data set layouts FilterLens reads.
public enum DatasetFormat: String, Sendable, CaseIterable, Codable {
    /// `cifar-10-batches-bin/`: data_batch_1..5.bin, test_batch.bin; records of 1 label byte + 3,072 pixels.
    case cifar10 = "cifar-10"
    /// `cifar-100-binary/`: train.bin, test.bin; records of a coarse label byte, a fine label byte, 3,072 pixels.
    case cifar100 = "cifar-100"

    /// The folder the official archive unpacks to.
    public var folderName: String {
        switch self {
        case .cifar10: CIFAR10.folderName
        case .cifar100: CIFAR100.folderName
        }
    }

    /// The data set's plain name ("CIFAR-10", "CIFAR-100").
    public var displayName: String {
        switch self {
        case .cifar10: "CIFAR-10"
        case .cifar100: "CIFAR-100"
        }
    }

    /// The file whose presence identifies a folder of this layout.
    var markerFile: String {
        switch self {
        case .cifar10: "test_batch.bin"
        case .cifar100: "test.bin"
        }
    }
}

/// CIFAR-100's two label sets: 100 fine labels or 20 coarse superclasses.
public enum LabelSet: String, Sendable, CaseIterable, Codable {
    case fine, coarse
}

/// The data a run trains on: one value (name, label names, image geometry, record layout, split files, checksum of
/// the source archive) that training, probing and the run export take instead of any data set's constants.
public struct Dataset: Sendable {
    /// The record layout.
    public let format: DatasetFormat
    /// CIFAR-100's label set; nil for CIFAR-10.
    public let labelSet: LabelSet?
    /// The folder holding the binary files.
    public let directory: URL
    /// What `data prepare` recorded about the source (name, archive, MD5), or nil when it wrote no note.
    public let note: DataNote?
    /// Every label's name, in label order (10, 20 or 100 names).
    public let labelNames: [String]

    /// Image geometry (3 x 32 x 32 for both CIFARs).
    public var geometry: ImageGeometry { .cifar }
    /// Number of labels of the label set (before any selection).
    public var labelCount: Int { labelNames.count }
    /// The record layout of the binary files.
    public var layout: RecordLayout {
        switch format {
        case .cifar10: RecordLayout(labelRanges: [CIFAR10.labelCount], labelByte: 0)
        case .cifar100: RecordLayout(labelRanges: [CIFAR100.coarseLabelCount, CIFAR100.fineLabelCount],
                                     labelByte: labelSet == .coarse ? 0 : 1)
        }
    }
    /// MD5 of the archive the files came from, as recorded by `data prepare` (nil: not recorded).
    public var sourceMD5: String? { note?.md5 }

    /// The name reports give this data: the note's name (else "CIFAR-10" / "CIFAR-100"), and for CIFAR-100 the label
    /// set, e.g. "CIFAR-100 (official binary archive), 20 coarse labels".
    public var name: String {
        let base = note?.name ?? format.displayName
        guard let labelSet else { return base }
        return "\(base), \(labelCount) \(labelSet.rawValue) labels"
    }

    /// The files of `split`, in order.
    public func fileNames(_ split: CIFAR10.Split) -> [String] {
        switch format {
        case .cifar10: split.fileNames
        case .cifar100: [split == .train ? "train.bin" : "test.bin"]
        }
    }

    /// Loads `split` (its files in order), keeping the images whose label is in `labels` (relabelled to their
    /// position in the selection), at most `limit` of them.
    public func load(_ split: CIFAR10.Split, limit: Int? = nil, labels: LabelSelection? = nil) throws(CIFARError) -> LabeledImages {
        var images = LabeledImages(pixels: [], labels: [])
        let what = "\(format.displayName) (\(format.folderName))"
        for name in fileNames(split) {
            if let limit, images.count >= limit { break }
            let remaining = limit.map { $0 - images.count }
            let file = directory.appendingPathComponent(name)
            images.append(try layout.read(file: file, limit: remaining, keeping: labels, what: what))
        }
        return images
    }

    /// Finds the data under `path`: `path` itself or `path/cifar-10-batches-bin` or `path/cifar-100-binary`, in that
    /// order. With a `labelSet` only CIFAR-100 qualifies (the label set names one of its two label sets).
    public static func locate(_ path: String, labelSet: LabelSet? = nil) throws(CIFARError) -> Dataset {
        let base = URL(fileURLWithPath: path)
        let formats: [DatasetFormat] = labelSet == nil ? [.cifar10, .cifar100] : [.cifar100]
        var candidates: [(URL, DatasetFormat)] = formats.map { (base, $0) }
        candidates += formats.map { (base.appendingPathComponent($0.folderName), $0) }
        for (folder, format) in candidates
        where FileManager.default.fileExists(atPath: folder.appendingPathComponent(format.markerFile).path) {
            return try Dataset(format: format, directory: folder, labelSet: format == .cifar100 ? (labelSet ?? .fine) : nil)
        }
        var isDirectory: ObjCBool = false
        if !FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
            throw CIFARError(path: path, problem: "no such directory",
                             fix: "run `filterlens data prepare` (--from ARCHIVE or --download) or pass --data with the folder holding \(CIFAR10.folderName) or \(CIFAR100.folderName)")
        }
        if labelSet != nil, (try? Dataset.locate(path)) != nil {
            throw CIFARError(path: path, problem: "--label-set applies to CIFAR-100, and this folder holds CIFAR-10",
                             fix: "drop --label-set, or point --data at the folder holding \(CIFAR100.folderName)")
        }
        let expected = labelSet == nil ? "test_batch.bin (CIFAR-10) or test.bin (CIFAR-100)" : "test.bin (CIFAR-100)"
        throw CIFARError(path: path, problem: "no \(expected) here or in \(formats.map { $0.folderName + "/" }.joined(separator: " or "))",
                         fix: "run `filterlens data prepare` or point --data at the official binary files")
    }

    /// The data set of `format` in `directory` (label names read from CIFAR-100's name files).
    public init(format: DatasetFormat, directory: URL, labelSet: LabelSet?) throws(CIFARError) {
        self.format = format
        self.directory = directory
        self.labelSet = format == .cifar100 ? (labelSet ?? .fine) : nil
        note = DataNote.read(directory: directory)
        switch format {
        case .cifar10: labelNames = CIFAR10.labelNames
        case .cifar100: labelNames = try CIFAR100.labelNames(directory: directory, set: self.labelSet!)
        }
    }
}

/// A choice of labels for a run: `indices` are labels of the data set, in the run's order; the run's label i is the
/// data set's label `indices[i]`.
public struct LabelSelection: Sendable, Equatable {
    /// Source label indices, distinct, each in 0 ..< the data set's label count; at least 2.
    public let indices: [Int]

    public init(indices: [Int]) {
        self.indices = indices
    }

    /// Every label of a data set of `count` labels.
    public static func all(_ count: Int) -> LabelSelection { LabelSelection(indices: Array(0..<count)) }

    /// Parses `--labels`: "K" (the first K labels) or a comma-separated list "0,3,5" (those labels, in that order),
    /// for a data set of `labelCount` labels. The message of a failure says what is wrong and what is allowed.
    public static func parse(_ text: String, labelCount: Int) throws(LabelSelectionError) -> LabelSelection {
        let parts = text.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        var numbers: [Int] = []
        for part in parts {
            guard let number = Int(part) else {
                throw LabelSelectionError("--labels \"\(text)\": \"\(part)\" is not a number; give a count K or a list like 0,3,5")
            }
            numbers.append(number)
        }
        if numbers.count == 1 {
            let count = numbers[0]
            guard count >= 2 && count <= labelCount else {
                throw LabelSelectionError("--labels \(count): a count must be in 2...\(labelCount) (the data set has \(labelCount) labels)")
            }
            return LabelSelection(indices: Array(0..<count))
        }
        if let bad = numbers.first(where: { $0 < 0 || $0 >= labelCount }) {
            throw LabelSelectionError("--labels \(text): label \(bad) is outside 0...\(labelCount - 1) (the data set has \(labelCount) labels)")
        }
        guard Set(numbers).count == numbers.count else {
            throw LabelSelectionError("--labels \(text): a label is listed twice; list each label once")
        }
        return LabelSelection(indices: numbers)
    }

    /// Checks the form of a `--labels` value before the data set is known: a number, or numbers separated by commas.
    public static func checkSyntax(_ text: String) throws(LabelSelectionError) {
        for part in text.split(separator: ",", omittingEmptySubsequences: false) where Int(part.trimmingCharacters(in: .whitespaces)) == nil {
            throw LabelSelectionError("--labels \"\(text)\": \"\(part)\" is not a number; give a count K or a list like 0,3,5")
        }
    }

    /// Checks that the selection fits a data set of `labelCount` labels.
    public func validate(labelCount: Int) throws(LabelSelectionError) {
        guard indices.count >= 2, Set(indices).count == indices.count,
              indices.allSatisfy({ $0 >= 0 && $0 < labelCount }) else {
            throw LabelSelectionError("labels \(indices) do not fit a data set of \(labelCount) labels (need 2 or more distinct labels in 0...\(labelCount - 1))")
        }
    }

    /// Whether this is every label of a data set of `count` labels, in order.
    public func isAll(of count: Int) -> Bool { indices == Array(0..<count) }

    /// The names of the selected labels, in the run's order.
    public func names(from all: [String]) -> [String] { indices.map { all[$0] } }

    /// Source label -> run label (nil: not selected), for source labels 0 ..< `count`.
    func mapping(count: Int) -> [UInt8?] {
        var map = [UInt8?](repeating: nil, count: count)
        for (position, index) in indices.enumerated() where index < count { map[index] = UInt8(position) }
        return map
    }
}

/// A `--labels` value that does not parse or does not fit the data set.
public struct LabelSelectionError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// What `data prepare` records beside the binary files (`FILTERLENS-SOURCE.txt`): line 1 the data set's name for
/// reports; then optional lines "md5: <hex>" (the source archive's MD5) and "archive: <file name>".
public struct DataNote: Sendable, Equatable {
    /// Name for reports, e.g. "CIFAR-10 (JPEG copy)".
    public var name: String
    /// MD5 of the source archive, 32 lower-case hex digits.
    public var md5: String?
    /// The source archive's file name.
    public var archive: String?

    public init(name: String, md5: String? = nil, archive: String? = nil) {
        self.name = name
        self.md5 = md5
        self.archive = archive
    }

    /// The note's file name.
    public static let fileName = "FILTERLENS-SOURCE.txt"

    /// The note in `directory`, nil when absent or empty.
    public static func read(directory: URL) -> DataNote? {
        guard let text = try? String(contentsOf: directory.appendingPathComponent(fileName), encoding: .utf8) else { return nil }
        let lines = text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        guard let first = lines.first, !first.isEmpty else { return nil }
        var note = DataNote(name: first)
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            switch line[..<colon] {
            case "md5": note.md5 = value
            case "archive": note.archive = value
            default: break
            }
        }
        return note
    }

    /// The note's text.
    public var text: String {
        var lines = [name]
        if let md5 { lines.append("md5: \(md5)") }
        if let archive { lines.append("archive: \(archive)") }
        return lines.joined(separator: "\n") + "\n"
    }
}

/// How a binary record is laid out: one byte per entry of `labelRanges`, then the pixels of `geometry`.
public struct RecordLayout: Sendable, Equatable {
    /// The number of values each label byte may take, in record order (CIFAR-10: [10]; CIFAR-100: [20, 100]).
    public let labelRanges: [Int]
    /// The label byte that is the image's label (0-based).
    public let labelByte: Int
    /// Pixel geometry.
    public let geometry: ImageGeometry

    public init(labelRanges: [Int], labelByte: Int, geometry: ImageGeometry = .cifar) {
        self.labelRanges = labelRanges
        self.labelByte = labelByte
        self.geometry = geometry
    }

    /// Bytes per record.
    public var recordSize: Int { labelRanges.count + geometry.pixelsPerImage }

    /// Reads one file, validating its size and every label byte; `what` names the data set in errors.
    public func read(file: URL, limit: Int? = nil, keeping labels: LabelSelection? = nil, what: String) throws(CIFARError) -> LabeledImages {
        let bytes: Data
        do {
            bytes = try Data(contentsOf: file)
        } catch {
            let missing = !FileManager.default.fileExists(atPath: file.path)
            throw CIFARError(path: file.path, problem: missing ? "file not found" : "cannot read: \(error.localizedDescription)",
                             fix: "run `filterlens data prepare` to rebuild the binary files")
        }
        return try decode(bytes, path: file.path, limit: limit, keeping: labels, what: what)
    }

    /// Decodes records from `bytes` (`path` names the source in errors). Every record's label bytes are checked
    /// against `labelRanges`; with `labels`, only the selected labels' images are kept, relabelled 0 ..< K. At most
    /// `limit` images are returned.
    public func decode(_ bytes: Data, path: String, limit: Int? = nil, keeping labels: LabelSelection? = nil,
                       what: String) throws(CIFARError) -> LabeledImages {
        guard !bytes.isEmpty else {
            throw CIFARError(path: path, problem: "file is empty", fix: "rebuild it with `filterlens data prepare`")
        }
        guard bytes.count % recordSize == 0 else {
            let complete = bytes.count / recordSize
            throw CIFARError(path: path, offset: complete * recordSize,
                             problem: "size \(bytes.count) is not a multiple of \(recordSize) bytes (truncated after record \(complete))",
                             fix: "rebuild it with `filterlens data prepare` or download the official file again")
        }
        let total = bytes.count / recordSize
        let wanted = limit ?? total
        let pixelsPerImage = geometry.pixelsPerImage
        let headerSize = labelRanges.count
        let mapping = labels?.mapping(count: labelRanges[labelByte])
        var keptLabels: [UInt8] = []
        var keptPixels: [UInt8] = []
        keptLabels.reserveCapacity(min(total, wanted))
        keptPixels.reserveCapacity(min(total, wanted) * pixelsPerImage)
        var badLabel: (record: Int, byte: Int, value: UInt8)?
        bytes.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            let source = raw.bindMemory(to: UInt8.self)
            for record in 0..<total {
                let start = record * recordSize
                for byte in 0..<headerSize where Int(source[start + byte]) >= labelRanges[byte] {
                    badLabel = (record, byte, source[start + byte])
                    return
                }
                if keptLabels.count >= wanted { continue }   // keep validating the rest of the file
                var label = source[start + labelByte]
                if let mapping {
                    guard let mapped = mapping[Int(label)] else { continue }
                    label = mapped
                }
                keptLabels.append(label)
                keptPixels.append(contentsOf: UnsafeBufferPointer(start: source.baseAddress! + start + headerSize, count: pixelsPerImage))
            }
        }
        if let badLabel {
            let which = labelRanges.count == 1 ? "label" : (badLabel.byte == 0 ? "coarse label" : "fine label")
            throw CIFARError(path: path, offset: badLabel.record * recordSize + badLabel.byte,
                             problem: "record \(badLabel.record) has \(which) \(badLabel.value), outside 0...\(labelRanges[badLabel.byte] - 1)",
                             fix: "the file is corrupt or not \(what): rebuild it with `filterlens data prepare`")
        }
        return LabeledImages(pixels: keptPixels, labels: keptLabels)
    }
}

/// Moves a finished folder into place.
enum FolderPlacement {
    /// Puts `built` at `final`. An existing `final` is first renamed aside (`.<name>.replaced-<pid>`), then `built`
    /// is renamed into place and the old folder removed; if that rename fails, the old folder goes back. Each step
    /// is a rename within one directory, so `final` never holds a half-written folder.
    static func place(_ built: URL, at final: URL) throws {
        let manager = FileManager.default
        guard manager.fileExists(atPath: final.path) else {
            try manager.moveItem(at: built, to: final)
            return
        }
        let aside = final.deletingLastPathComponent()
            .appendingPathComponent(".\(final.lastPathComponent).replaced-\(ProcessInfo.processInfo.processIdentifier)")
        try? manager.removeItem(at: aside)
        try manager.moveItem(at: final, to: aside)
        do {
            try manager.moveItem(at: built, to: final)
        } catch {
            try? manager.moveItem(at: aside, to: final)
            throw error
        }
        try? manager.removeItem(at: aside)
    }
}

import Foundation

/// The CIFAR-10 data set in its standard binary layout.
///
/// Each file (`data_batch_1.bin` ... `data_batch_5.bin`, `test_batch.bin`) is a sequence of 3,073-byte
/// records: 1 label byte (0...9), then 3,072 pixel bytes: the R plane, the G plane, the B plane, each
/// 32 x 32 row-major.
public enum CIFAR10 {
    /// Label names in label order.
    public static let labelNames = [
        "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
    ]
    /// Number of labels.
    public static let labelCount = 10
    /// Image side in pixels.
    public static let imageSize = 32
    /// Colour channels.
    public static let channels = 3
    /// Pixel bytes per image (3 x 32 x 32).
    public static let pixelsPerImage = 3 * 32 * 32
    /// Bytes per record: the label byte and the pixels.
    public static let recordSize = 1 + pixelsPerImage
    /// The folder name the official archive unpacks to.
    public static let folderName = "cifar-10-batches-bin"
    /// A file that `data prepare` writes beside the batches, holding the data set's name for reports (`DataNote`).
    public static let sourceNoteFile = DataNote.fileName

    /// A split of the data set.
    public enum Split: String, Sendable, CaseIterable {
        case train, test

        /// The batch files of this split, in order.
        public var fileNames: [String] {
            switch self {
            case .train: (1...5).map { "data_batch_\($0).bin" }
            case .test: ["test_batch.bin"]
            }
        }
    }

    /// The folder that holds the batch files: `path` itself, or `path/cifar-10-batches-bin`.
    public static func batchDirectory(_ path: String) throws(CIFARError) -> URL {
        let base = URL(fileURLWithPath: path)
        let nested = base.appendingPathComponent(folderName)
        for candidate in [base, nested]
        where FileManager.default.fileExists(atPath: candidate.appendingPathComponent("test_batch.bin").path) {
            return candidate
        }
        var isDirectory: ObjCBool = false
        if !FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
            throw CIFARError(path: path, problem: "no such directory",
                             fix: "run `filterlens data prepare` or pass --data with the folder holding \(folderName)")
        }
        throw CIFARError(path: path, problem: "no test_batch.bin here or in \(folderName)/",
                         fix: "run `filterlens data prepare` or point --data at the official CIFAR-10 binary files")
    }

    /// The data set's name for reports: the note written by `data prepare`, else "CIFAR-10".
    public static func datasetName(directory: URL) -> String {
        DataNote.read(directory: directory)?.name ?? "CIFAR-10"
    }

    /// Loads a split (all of its files, in order), at most `limit` images.
    public static func load(_ split: Split, from directory: URL, limit: Int? = nil) throws(CIFARError) -> LabeledImages {
        var images = LabeledImages(pixels: [], labels: [])
        for name in split.fileNames {
            if let limit, images.count >= limit { break }
            let remaining = limit.map { $0 - images.count }
            images.append(try read(file: directory.appendingPathComponent(name), limit: remaining))
        }
        return images
    }

    /// Reads one batch file, validating its size and every label.
    public static func read(file: URL, limit: Int? = nil) throws(CIFARError) -> LabeledImages {
        try layout.read(file: file, limit: limit, what: "CIFAR-10")
    }

    /// The record layout: 1 label byte in 0...9, then 3,072 pixel bytes.
    public static let layout = RecordLayout(labelRanges: [labelCount], labelByte: 0)

    /// Decodes records from bytes; `path` names the source in errors.
    public static func decode(_ bytes: Data, path: String, limit: Int? = nil) throws(CIFARError) -> LabeledImages {
        try layout.decode(bytes, path: path, limit: limit, what: "CIFAR-10")
    }

    /// Encodes images as records of the standard layout (the inverse of `decode`).
    public static func encode(_ images: LabeledImages) -> Data {
        var data = Data(capacity: images.count * recordSize)
        for index in 0..<images.count {
            data.append(images.labels[index])
            data.append(contentsOf: images.pixels[(index * pixelsPerImage)..<((index + 1) * pixelsPerImage)])
        }
        return data
    }
}

/// Images with their labels, as stored: `pixels` is N x 3 x 32 x 32 bytes (planes R, G, B; row-major).
public struct LabeledImages: Sendable {
    /// The geometry of every image (3 x 32 x 32, both CIFARs).
    public static let geometry = ImageGeometry.cifar
    /// Pixel bytes per image (3,072).
    public static let pixelsPerImage = geometry.pixelsPerImage

    /// N x 3072 pixel bytes.
    public var pixels: [UInt8]
    /// N labels in 0 ..< the run's label count.
    public var labels: [UInt8]

    public init(pixels: [UInt8], labels: [UInt8]) {
        precondition(pixels.count == labels.count * Self.pixelsPerImage, "pixels must hold 3072 bytes per label")
        self.pixels = pixels
        self.labels = labels
    }

    /// Number of images.
    public var count: Int { labels.count }

    /// Appends another set's images.
    public mutating func append(_ other: LabeledImages) {
        pixels += other.pixels
        labels += other.labels
    }

    /// The first `count` images.
    public func prefix(_ count: Int) -> LabeledImages {
        let kept = min(count, self.count)
        return LabeledImages(pixels: Array(pixels[0..<(kept * Self.pixelsPerImage)]), labels: Array(labels[0..<kept]))
    }
}

import Foundation

/// The CIFAR-100 data set in its official binary layout (`cifar-100-binary/`).
///
/// `train.bin` (50,000 images) and `test.bin` (10,000) are sequences of 3,074-byte records: the coarse label byte
/// (0...19), the fine label byte (0...99), then 3,072 pixel bytes: the R plane, the G plane, the B plane, each
/// 32 x 32 row-major. `fine_label_names.txt` (100 lines) and `coarse_label_names.txt` (20 lines) name the labels in
/// label order.
public enum CIFAR100 {
    /// The folder name the official archive unpacks to.
    public static let folderName = "cifar-100-binary"
    /// Fine labels.
    public static let fineLabelCount = 100
    /// Coarse labels (superclasses).
    public static let coarseLabelCount = 20
    /// Bytes per record: coarse label, fine label, pixels.
    public static let recordSize = 2 + ImageGeometry.cifar.pixelsPerImage
    /// The label-name file of each label set.
    public static func labelNameFile(_ set: LabelSet) -> String {
        set == .fine ? "fine_label_names.txt" : "coarse_label_names.txt"
    }

    /// The names of `set`'s labels from its name file in `directory` (one name a line, blank lines ignored).
    public static func labelNames(directory: URL, set: LabelSet) throws(CIFARError) -> [String] {
        let file = directory.appendingPathComponent(labelNameFile(set))
        let expected = set == .fine ? fineLabelCount : coarseLabelCount
        guard let text = try? String(contentsOf: file, encoding: .utf8) else {
            throw CIFARError(path: file.path, problem: "label-name file not found or unreadable",
                             fix: "prepare CIFAR-100 from the official archive: `filterlens data prepare --from cifar-100-binary.tar.gz`")
        }
        let names = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard names.count == expected else {
            throw CIFARError(path: file.path, problem: "\(names.count) label names, expected \(expected)",
                             fix: "restore the file from the official CIFAR-100 archive (`filterlens data prepare --from ... --force`)")
        }
        return names
    }

    /// Encodes images as records of the official layout (the inverse of reading with the fine label set):
    /// `fine` and `coarse` hold one label per image.
    public static func encode(pixels: [UInt8], fine: [UInt8], coarse: [UInt8]) -> Data {
        let size = ImageGeometry.cifar.pixelsPerImage
        precondition(fine.count == coarse.count && pixels.count == fine.count * size, "one fine and coarse label per image")
        var data = Data(capacity: fine.count * recordSize)
        for index in fine.indices {
            data.append(coarse[index])
            data.append(fine[index])
            data.append(contentsOf: pixels[(index * size)..<((index + 1) * size)])
        }
        return data
    }
}

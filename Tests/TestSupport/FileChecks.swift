import Foundation

/// A fresh empty directory under the system temporary directory, named `<prefix>-<UUID>`.
public func makeScratchDirectory(prefix: String) throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// Width and height in pixels from a PNG's IHDR chunk (big-endian words at bytes 16 and 20).
public func pngSize(_ data: Data) -> (width: Int, height: Int) {
    func word(_ offset: Int) -> Int {
        data[(data.startIndex + offset)..<(data.startIndex + offset + 4)].reduce(0) { $0 << 8 | Int($1) }
    }
    return (word(16), word(20))
}

/// The text of a PDF via poppler's pdftotext, or nil when the tool is not installed.
public func pdfText(_ path: String) throws -> String? {
    let tool = ["/usr/bin/pdftotext", "/usr/local/bin/pdftotext"].first { FileManager.default.isExecutableFile(atPath: $0) }
    guard let tool else { return nil }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: tool)
    process.arguments = [path, "-"]
    let pipe = Pipe()
    process.standardOutput = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return String(decoding: data, as: UTF8.self)
}

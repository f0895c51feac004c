import Foundation

/// One member of a tar archive the tests write: `type` is the ustar type flag ("0" file, "5" directory,
/// "2" symbolic link, "1" hard link), `link` the link target.
public struct TarMember {
    public var name: String
    public var type: Character
    public var contents: Data
    public var link: String

    public init(_ name: String, _ contents: Data = Data(), type: Character = "0", link: String = "") {
        self.name = name
        self.type = type
        self.contents = contents
        self.link = link
    }
}

/// A ustar archive of `members` (512-byte headers, contents padded to 512 bytes, two zero blocks at the end), as
/// GNU tar writes it. Names longer than 100 bytes are split into ustar prefix and name.
public func tarArchive(_ members: [TarMember]) -> Data {
    var archive = Data()
    for member in members {
        var header = [UInt8](repeating: 0, count: 512)
        func put(_ text: String, at offset: Int, width: Int) {
            for (index, byte) in Array(text.utf8).prefix(width).enumerated() { header[offset + index] = byte }
        }
        func octal(_ value: Int, at offset: Int, width: Int) {
            put(String(value, radix: 8).leftPadding(width - 1), at: offset, width: width - 1)
        }
        var name = member.name, prefix = ""
        if name.utf8.count > 100, let slash = name.lastIndex(of: "/") {
            prefix = String(name[..<slash])
            name = String(name[name.index(after: slash)...])
        }
        put(name, at: 0, width: 100)
        octal(member.type == "5" ? 0o755 : 0o644, at: 100, width: 8)
        octal(0, at: 108, width: 8)
        octal(0, at: 116, width: 8)
        octal(member.type == "0" ? member.contents.count : 0, at: 124, width: 12)
        octal(1_700_000_000, at: 136, width: 12)
        header[156] = member.type.asciiValue!
        put(member.link, at: 157, width: 100)
        put("ustar", at: 257, width: 6)
        put("00", at: 263, width: 2)
        put(prefix, at: 345, width: 155)
        for index in 148..<156 { header[index] = 32 }
        let sum = header.reduce(0) { $0 + Int($1) }
        put(String(sum, radix: 8).leftPadding(6), at: 148, width: 6)
        header[154] = 0
        header[155] = 32
        archive.append(contentsOf: header)
        if member.type == "0" {
            archive.append(member.contents)
            archive.append(Data(count: (512 - member.contents.count % 512) % 512))
        }
    }
    archive.append(Data(count: 1024))
    return archive
}

/// `data` compressed with the system's gzip (`gzip -c -n`).
public func gzipped(_ data: Data) throws -> Data {
    let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("filterlens-gzip-\(UUID().uuidString)")
    try data.write(to: scratch)
    defer { try? FileManager.default.removeItem(at: scratch) }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["gzip", "-c", "-n", scratch.path]
    let output = Pipe()
    process.standardOutput = output
    try process.run()
    let compressed = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else { throw CocoaError(.fileWriteUnknown) }
    return compressed
}

/// The output of `md5sum FILE` (its first field), the reference the tests check FilterLens's MD5 against.
public func systemMD5(_ url: URL) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["md5sum", url.path]
    let output = Pipe()
    process.standardOutput = output
    try process.run()
    let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    return String(text.split(separator: " ").first ?? "")
}

extension String {
    fileprivate func leftPadding(_ width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}

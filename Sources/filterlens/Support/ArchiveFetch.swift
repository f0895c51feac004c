import CIFAR
import Files
import Foundation

extension DataCommand.Prepare {
    /// Downloads `official` (or --url) into `destination`, checks size and MD5, and returns the archive's path.
    func fetch(_ official: OfficialArchive, into destination: URL) throws -> URL {
        let source = url.flatMap(URL.init(string:)) ?? official.url
        do {
            try FileManager.default.createDirectory(at: destination, withIntermediateDirectories: true)
        } catch {
            throw UsageError("\(destination.path): cannot create the directory (\(error.localizedDescription)); choose a writable --out")
        }
        let final = destination.appendingPathComponent(official.fileName)
        TemporaryFile.removeStale(in: destination)   // a download a killed process left
        let partial = TemporaryFile.url(for: final)
        say("downloading \(source.absoluteString) ...")
        let printer = DownloadProgressPrinter()
        let started = Date()
        let bytes = try Download.fetch(source, to: partial) { printer.show($0) }
        printer.finish()
        let seconds = Date().timeIntervalSince(started)
        say(String(format: "downloaded %@ in %@ (%@/s)", ByteCountFormatter.string(fromByteCount: bytes, countStyle: .file),
                   ProgressPrinter.duration(seconds), ByteCountFormatter.string(fromByteCount: Int64(Double(bytes) / max(seconds, 1e-3)), countStyle: .file)))
        let md5 = try MD5.hex(file: partial)
        let expected = self.md5?.lowercased() ?? official.md5
        guard md5 == expected else {
            try? FileManager.default.removeItem(at: partial)
            throw CIFARError(path: source.absoluteString, problem: "the downloaded file's MD5 \(md5) differs from the expected \(expected)"
                             + (self.md5 == nil ? " (the official \(official.fileName))" : ""),
                             fix: "the download is damaged or not the official archive: run the command again, or pass --md5 with the checksum you expect")
        }
        do {
            if FileManager.default.fileExists(atPath: final.path) { try FileManager.default.removeItem(at: final) }
            try FileManager.default.moveItem(at: partial, to: final)
        } catch {
            try? FileManager.default.removeItem(at: partial)
            throw UsageError("\(final.path): cannot move the download into place (\(error.localizedDescription)); check the --out directory")
        }
        return final
    }
}

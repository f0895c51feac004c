import Foundation

/// MD5 (RFC 1321), the checksum the CIFAR authors publish for their archives. Streaming: `update` any number of
/// times, then `finalize`. Not for security; only to tell which bytes a data set came from.
public struct MD5: Sendable {
    private var state: (UInt32, UInt32, UInt32, UInt32) = (0x6745_2301, 0xefcd_ab89, 0x98ba_dcfe, 0x1032_5476)
    private var pending: [UInt8] = []
    private var length: UInt64 = 0

    public init() {}

    private static let shifts: [UInt32] = [7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22,
                                           5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20,
                                           4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23,
                                           6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21]
    private static let constants: [UInt32] = (0..<64).map { UInt32(truncatingIfNeeded: Int64(abs(sin(Double($0 + 1))) * 4_294_967_296)) }

    /// Adds `bytes` to the message.
    public mutating func update(_ bytes: some DataProtocol) {
        length &+= UInt64(bytes.count)
        var data = pending
        data.append(contentsOf: bytes)
        let whole = data.count / 64 * 64
        data.withUnsafeBufferPointer { buffer in
            var offset = 0
            while offset < whole {
                compress(buffer.baseAddress! + offset)
                offset += 64
            }
        }
        pending = Array(data[whole...])
    }

    /// The digest of everything added, as 32 lower-case hex digits.
    public mutating func finalize() -> String {
        let bits = length &* 8
        var tail: [UInt8] = [0x80]
        while (pending.count + tail.count) % 64 != 56 { tail.append(0) }
        for shift in stride(from: 0, to: 64, by: 8) { tail.append(UInt8(truncatingIfNeeded: bits >> UInt64(shift))) }
        let saved = length
        update(tail)
        length = saved
        let words = [state.0, state.1, state.2, state.3]
        return words.flatMap { word in (0..<4).map { UInt8(truncatingIfNeeded: word >> (8 * $0)) } }
            .map { String(format: "%02x", $0) }.joined()
    }

    /// The MD5 of `bytes`.
    public static func hex(_ bytes: some DataProtocol) -> String {
        var md5 = MD5()
        md5.update(bytes)
        return md5.finalize()
    }

    /// The MD5 of the file at `url`, read in 4 MiB pieces; `progress` gets the bytes read so far.
    public static func hex(file url: URL, progress: (Int64) -> Void = { _ in }) throws(CIFARError) -> String {
        let handle: FileHandle
        do {
            handle = try FileHandle(forReadingFrom: url)
        } catch {
            throw CIFARError(path: url.path, problem: "cannot open: \(error.localizedDescription)", fix: "check the path")
        }
        defer { try? handle.close() }
        var md5 = MD5()
        var done: Int64 = 0
        while true {
            let chunk: Data?
            do {
                chunk = try handle.read(upToCount: 4 << 20)
            } catch {
                throw CIFARError(path: url.path, problem: "read failed: \(error.localizedDescription)", fix: "check the file")
            }
            guard let chunk, !chunk.isEmpty else { break }
            md5.update(chunk)
            done += Int64(chunk.count)
            progress(done)
        }
        return md5.finalize()
    }

    /// One 64-byte block.
    private mutating func compress(_ block: UnsafePointer<UInt8>) {
        state = withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 16) { m in
            for i in 0..<16 {
                m[i] = UInt32(block[4 * i]) | UInt32(block[4 * i + 1]) << 8 | UInt32(block[4 * i + 2]) << 16 | UInt32(block[4 * i + 3]) << 24
            }
            return Self.rounds(state, m)
        }
    }

    /// The 64 steps over one block's words `m`, added to `state`.
    private static func rounds(_ state: (UInt32, UInt32, UInt32, UInt32), _ m: UnsafeMutableBufferPointer<UInt32>) -> (UInt32, UInt32, UInt32, UInt32) {
        var (a, b, c, d) = state
        for i in 0..<64 {
            var f: UInt32
            let g: Int
            switch i {
            case 0..<16: f = (b & c) | (~b & d); g = i
            case 16..<32: f = (d & b) | (~d & c); g = (5 * i + 1) % 16
            case 32..<48: f = b ^ c ^ d; g = (3 * i + 5) % 16
            default: f = c ^ (b | ~d); g = (7 * i) % 16
            }
            f = f &+ a &+ constants[i] &+ m[g]
            a = d
            d = c
            c = b
            let s = shifts[i]
            b = b &+ ((f << s) | (f >> (32 - s)))
        }
        return (state.0 &+ a, state.1 &+ b, state.2 &+ c, state.3 &+ d)
    }
}

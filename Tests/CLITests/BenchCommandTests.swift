import Foundation
import Testing

@Suite("filterlens bench")
struct BenchCommandTests {
    /// A fast bench of the tiny preset: 2 convolution blocks, 1 FC layer.
    static let arguments = ["bench", "--preset", "tiny", "--batch", "8", "--warmup", "1", "--iterations", "2",
                            "--analysis-images", "50"]

    @Test("--json is one JSON object with per-layer times, data assembly and analysis throughput")
    func jsonOutput() throws {
        let result = try runFilterLens(Self.arguments + ["--json"], in: FileManager.default.temporaryDirectory)
        #expect(result.status == 0, "\(result.errors)")
        let line = try #require(result.output.split(separator: "\n").last)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        for key in ["train_images_per_second", "inference_images_per_second", "frozen_inference_images_per_second",
                    "train_step_seconds_median", "sgd_ms",
                    "data_assembly_ms_per_batch", "data_assembly_share", "analysis_images_per_second", "sgemm_gflops",
                    "train_share_of_sgemm"] {
            #expect(object[key] is NSNumber, "\(key) is a number")
        }
        let step = try #require(object["train_step_seconds_median"] as? Double) * 1000
        #expect(try #require(object["sgemm_gflops"] as? Double) > 1, "OpenBLAS does more than 1 GFLOP/s")
        let share = try #require(object["train_share_of_sgemm"] as? Double)
        let trainGFLOPs = try #require(object["train_gflops"] as? Double), sgemm = try #require(object["sgemm_gflops"] as? Double)
        #expect(abs(share - trainGFLOPs / sgemm) < 0.01, "the share is train GFLOP/s over sgemm GFLOP/s")

        let layers = try #require(object["layers"] as? [[String: Any]])
        #expect(layers.compactMap { $0["name"] as? String } == ["conv1", "conv2", "fc1", "loss"])
        #expect(layers.compactMap { $0["kind"] as? String } == ["conv_block", "conv_block", "fc", "loss"])
        var total = 0.0
        for layer in layers {
            let forward = try #require(layer["forward_ms"] as? Double)
            let backward = try #require(layer["backward_ms"] as? Double)
            let share = try #require(layer["share"] as? Double)
            #expect(forward >= 0 && backward >= 0 && share >= 0 && share <= 1)
            total += forward + backward
        }
        #expect(total <= step * 1.1 + 0.01, "layers \(total) ms, step \(step) ms")

        let analysis = try #require(object["analysis_layers"] as? [[String: Any]])
        #expect(analysis.compactMap { $0["layer"] as? Int } == [1, 2])
        #expect(analysis.compactMap { $0["channels"] as? Int } == [8, 16])
        #expect(analysis.compactMap { $0["height"] as? Int } == [16, 8], "block outputs after each pool")
        #expect(analysis.allSatisfy { ($0["images_per_second"] as? Double ?? 0) > 0 })
        #expect(object["analysis_images"] as? Int == 50)
    }

    @Test("a forced OpenBLAS kernel narrower than the CPU's is warned of on standard error, once; none when unset")
    func forcedCoreWarning() throws {
        let quick = ["bench", "--preset", "tiny", "--batch", "4", "--warmup", "0", "--iterations", "1", "--analysis-images", "0"]
        let cpuFlags = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        let forced = cpuFlags.contains(" avx512f") ? "Haswell" : "Nehalem"   // one step below this CPU's vectors
        let warned = try runFilterLens(quick, in: FileManager.default.temporaryDirectory,
                                       environment: ["OPENBLAS_CORETYPE": forced])
        #expect(warned.status == 0, "\(warned.errors)")
        #expect(warned.output.contains("\"\(forced)\""), "the kernel in use is printed: \(warned.output)")
        let warnings = warned.errors.split(separator: "\n").filter { $0.hasPrefix("warning: OPENBLAS_CORETYPE=\(forced)") }
        #expect(warnings.count == 1, "\(warned.errors)")
        let plain = try runFilterLens(quick, in: FileManager.default.temporaryDirectory,
                                      environment: ["OPENBLAS_CORETYPE": ""])   // empty: OpenBLAS chooses
        #expect(plain.status == 0 && !plain.errors.contains("OPENBLAS_CORETYPE"), "\(plain.errors)")
    }

    @Test("text output has the per-layer and analysis tables; --analysis-images 0 skips the analysis")
    func textOutput() throws {
        let text = try runFilterLens(Self.arguments, in: FileManager.default.temporaryDirectory)
        #expect(text.status == 0, "\(text.errors)")
        for needle in ["forward ms", "backward ms", "conv2", "fc1", "loss", "data assembly", "analysis throughput"] {
            #expect(text.output.contains(needle), "\(needle)")
        }
        let skipped = try runFilterLens(["bench", "--preset", "tiny", "--batch", "4", "--warmup", "0", "--iterations", "1",
                                         "--analysis-images", "0", "--json"], in: FileManager.default.temporaryDirectory)
        #expect(skipped.status == 0, "\(skipped.errors)")
        #expect(!skipped.output.contains("analysis_layers") && skipped.output.contains("\"layers\""))
    }
}

import Foundation
import Reference
import XCTest

/// The reader on bad files: each must end in a thrown error with a message, never a trap (a trap
/// would kill the test process, so getting to the assertions at all is part of the test).
final class TFLiteReaderNegativeTests: XCTestCase {
    private func message(_ body: () throws -> Void) -> String? {
        do { try body() } catch { return "\(error)" }
        return nil
    }

    func testEmptyAndTinyFilesAreRejectedAsTooShort() {
        for n in [0, 1, 4, 7] {
            let m = message { _ = try Network(tflite: Data(repeating: 0, count: n)) }
            XCTAssertNotNil(m)
            XCTAssertTrue(m?.contains("too short") ?? false, m ?? "")
        }
    }

    func testAFileWithoutTheTFL3IdentifierIsRejectedAsNotTFLite() {
        let text = Data("This is a README, not a model. It is long enough to have an identifier.".utf8)
        let m = message { _ = try Network(tflite: text) }
        XCTAssertTrue(m?.contains("not a TFLite model") ?? false, m ?? "no error")
    }

    func testRandomBytesBehindAValidIdentifierAreAnErrorNotACrash() {
        var rng = SplitMix64(seed: 7)
        for _ in 0 ..< 500 {
            var bytes = (0 ..< Int(rng.next() % 256) + 8).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            bytes.replaceSubrange(4 ..< 8, with: Array("TFL3".utf8))
            XCTAssertNotNil(message { _ = try Network(tflite: Data(bytes)) })
        }
    }

    func testAMissingModelFileIsAnIOErrorNamingThePath() {
        let m = message { _ = try TFLiteReader.read(contentsOf: URL(fileURLWithPath: "/nonexistent/model.tflite")) }
        XCTAssertTrue(m?.contains("/nonexistent/model.tflite") ?? false, m ?? "no error")
    }

    func testEveryTruncationOfARealModelIsAnError() throws {
        let data = try Data(contentsOf: try SharedModels.model("micro_speech_quantized").appendingPathComponent("model.tflite"))
        // Cutting anywhere must fail: the buffers sit before the tables, so no prefix is a whole model.
        var lengths = Array(stride(from: 0, to: data.count, by: max(1, data.count / 400)))
        lengths += [data.count - 1, data.count - 4, data.count / 2]
        for n in lengths {
            let m = message {
                let network = try Network(tflite: data.prefix(n))
                _ = try network.run(input: [Int8](repeating: 0, count: network.tensors[network.inputs[0]].elementCount))
            }
            XCTAssertNotNil(m, "a \(n)-byte prefix of a \(data.count)-byte model was accepted")
        }
    }

    func testMutatedModelsEitherFailWithAMessageOrRunToCompletion() throws {
        for name in ["micro_speech_quantized", "kws_ref_model"] {
            let original = [UInt8](try Data(contentsOf: try SharedModels.model(name).appendingPathComponent("model.tflite")))
            var rng = SplitMix64(seed: 11)
            var failures = 0
            for trial in 0 ..< 300 {
                var bytes = original
                // Mutate the flatbuffer structure (the tables at the end) more often than weight bytes.
                for _ in 0 ..< 1 + trial % 4 {
                    let inTables = rng.next() % 4 != 0
                    let lo = inTables ? max(0, bytes.count - 4096) : 0
                    let at = lo + Int(rng.next() % UInt64(bytes.count - lo))
                    bytes[at] = UInt8(truncatingIfNeeded: rng.next())
                }
                do {
                    let network = try Network(tflite: Data(bytes))
                    guard let i = network.inputs.first else { continue }
                    let count = network.tensors[i].elementCount
                    guard count <= 1 << 22 else { continue }
                    _ = try network.run(input: [Int8](repeating: 3, count: count))
                } catch let e as ReferenceError {
                    XCTAssertFalse(e.description.isEmpty)
                    XCTAssertFalse(e.description.contains("\n"), "error messages are one line: \(e)")
                    failures += 1
                }
            }
            XCTAssertGreaterThan(failures, 0, "\(name): no mutation was detected at all")
        }
    }

    func testABufferShorterThanItsTensorIsReportedWithBothSizes() throws {
        let data = [UInt8](try Data(contentsOf: try SharedModels.model("ad01_int8").appendingPathComponent("model.tflite")))
        // Find the first FC weight tensor's shape vector [128, 640] (little-endian int32 pairs) and
        // shrink the first dimension: its buffer then holds more bytes than the shape needs.
        let pattern: [UInt8] = [128, 0, 0, 0, 128, 2, 0, 0]
        guard let at = (0 ..< data.count - pattern.count).first(where: { Array(data[$0 ..< $0 + pattern.count]) == pattern }) else {
            throw XCTSkip("ad01_int8 has no [128, 640] shape vector to mutate")
        }
        var bytes = data
        bytes[at] = 127
        let m = message { _ = try Network(tflite: Data(bytes)) }
        XCTAssertTrue(m?.contains("needs 81280 bytes") ?? false, m ?? "no error")
    }
}

/// A small deterministic generator so every test run sees the same inputs.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BA_133D_11EB
        return z ^ (z >> 31)
    }
}

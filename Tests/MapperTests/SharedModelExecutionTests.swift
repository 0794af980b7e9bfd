import Accelerator
import Foundation
import Mapper
import Reference
import XCTest

/// Every shared model and case, compiled and run through the instruction-set executor, must give
/// tflite-micro's expected.bin exactly: at the paper's configuration and at a small one whose
/// slices, padding lanes and column tiles differ.
final class SharedModelExecutionTests: XCTestCase {
    private static var modelsRoot: URL {
        if let env = ProcessInfo.processInfo.environment["DSC_MODELS"], !env.isEmpty { return URL(fileURLWithPath: env) }
        let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return packageRoot.deletingLastPathComponent().appendingPathComponent("shared/models")
    }

    private static var small: AcceleratorConfig {
        var c = AcceleratorConfig()
        c.pc = 4; c.pf = 4; c.pd = 2; c.maxRowWidth = 32
        return c
    }

    private func models() throws -> [String] {
        let root = Self.modelsRoot
        guard FileManager.default.fileExists(atPath: root.path) else {
            throw XCTSkip("shared models not found at \(root.path) (set DSC_MODELS to the models folder)")
        }
        return try FileManager.default.contentsOfDirectory(atPath: root.path)
            .filter { FileManager.default.fileExists(atPath: root.appendingPathComponent("\($0)/model.tflite").path) }.sorted()
    }

    private func cases(_ model: String) throws -> [URL] {
        let dir = Self.modelsRoot.appendingPathComponent(model)
        return try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
            .map { dir.appendingPathComponent($0) }
            .filter { FileManager.default.fileExists(atPath: $0.appendingPathComponent("expected.bin").path) }
    }

    private func check(_ model: String, _ config: AcceleratorConfig, label: String) throws {
        let network = try TFLiteReader.read(contentsOf: Self.modelsRoot.appendingPathComponent("\(model)/model.tflite"))
        let program = try Mapper.compile(network, config: config)
        let executor = try Executor(program)
        let all = try cases(model)
        XCTAssertFalse(all.isEmpty, "\(model) has no case with an expected.bin")
        for c in all {
            let input = try [UInt8](Data(contentsOf: c.appendingPathComponent("input.bin"))).map { Int8(bitPattern: $0) }
            let expected = try [UInt8](Data(contentsOf: c.appendingPathComponent("expected.bin"))).map { Int8(bitPattern: $0) }
            let got = try executor.run(input: input)
            let mismatches = zip(got, expected).filter { $0 != $1 }.count
            XCTAssertEqual(got.count, expected.count, "\(model)/\(c.lastPathComponent) at \(label)")
            XCTAssertEqual(mismatches, 0, "\(model)/\(c.lastPathComponent) at \(label): \(mismatches) of \(expected.count) outputs differ")
        }
    }

    func testEverySharedModelIsBitExactAtThePaperConfiguration() throws {
        for m in try models() { try check(m, AcceleratorConfig(), label: "paper config") }
    }

    func testEverySharedModelIsBitExactAtASmallConfiguration() throws {
        for m in try models() { try check(m, Self.small, label: "PC=PF=4, PD=2, maxRow 32") }
    }
}

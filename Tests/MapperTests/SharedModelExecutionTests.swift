import Accelerator
import Foundation
import Mapper
import Reference
import XCTest

/// Every shared model and case, compiled and run through the instruction-set executor, must give
/// tflite-micro's expected.bin exactly: at the paper's configuration and at a small one whose
/// slices, padding lanes and column tiles differ.
final class SharedModelExecutionTests: XCTestCase {
    private static var small: AcceleratorConfig {
        var c = AcceleratorConfig()
        c.pc = 4; c.pf = 4; c.pd = 2; c.maxRowWidth = 32
        return c
    }

    private func check(_ model: String, _ config: AcceleratorConfig, label: String) throws {
        let network = try TFLiteReader.read(contentsOf: SharedModels.root.appendingPathComponent("\(model)/model.tflite"))
        let program = try Mapper.compile(network, config: config)
        let executor = try Executor(program)
        let all = try SharedModels.cases(model)
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
        for m in try SharedModels.models() { try check(m, AcceleratorConfig(), label: "paper config") }
    }

    func testEverySharedModelIsBitExactAtASmallConfiguration() throws {
        for m in try SharedModels.models() { try check(m, Self.small, label: "PC=PF=4, PD=2, maxRow 32") }
    }
}

import Accelerator
import Foundation
import Mapper
import Reference
import XCTest

/// Every shared model and case, compiled with the configuration's RAM-S and RAM-M (bottleneck
/// tensors on chip), expanded into control records
/// and run through `ControlModel` alone; the device output plus the host's softmax must equal
/// tflite-micro's expected.bin exactly, at the paper's configuration and a small one (PC=PF=4,
/// PD=2, 32-pixel rows, 256 accumulator positions). DSC_MODELS overrides ../shared/models.
final class ControlSharedModelTests: XCTestCase {
    private static var small: AcceleratorConfig {
        var c = AcceleratorConfig()
        c.pc = 4; c.pf = 4; c.pd = 2; c.maxRowWidth = 32; c.outputBufferDepth = 256
        return c
    }

    private func check(_ config: AcceleratorConfig, label: String, skipping: Set<String> = []) throws {
        for model in try SharedModels.models() where !skipping.contains(model) {
            let all = try SharedModels.cases(model)
            XCTAssertFalse(all.isEmpty, "\(model) has no case with an expected.bin")
            let network = try TFLiteReader.read(contentsOf: SharedModels.root.appendingPathComponent("\(model)/model.tflite"))
            let program = try Mapper.compile(network, config: config, options: .device(config))
            let plan = try ControlPlan(program: program)
            for r in plan.records where r.op == .conv && r.mode != .pointwise {
                XCTAssertLessThanOrEqual(r.outputPositions, config.outputBufferDepth, "\(model) layer \(r.layer) at \(label)")
                XCTAssertLessThanOrEqual(r.regionCols, config.maxRowWidth, "\(model) layer \(r.layer) at \(label)")
            }
            for c in all {
            let input = try [UInt8](Data(contentsOf: c.appendingPathComponent("input.bin"))).map { Int8(bitPattern: $0) }
            let expected = try [UInt8](Data(contentsOf: c.appendingPathComponent("expected.bin"))).map { Int8(bitPattern: $0) }
            let memory = try ControlModel.run(plan, input: input)
            let a = Int(plan.deviceOutputAddress)
            let got = try SimulationBundle.finish(deviceOutput: memory.bytes(UInt32(a), plan.deviceOutputLength), dma: program.dma)
            let mismatches = zip(got, expected).filter { $0 != $1 }.count
            XCTAssertEqual(got.count, expected.count, "\(model)/\(c.lastPathComponent) at \(label)")
            XCTAssertEqual(mismatches, 0, "\(model)/\(c.lastPathComponent) at \(label): \(mismatches) of \(expected.count) outputs differ")
            }
            print("control records: \(model) at \(label): \(plan.records.count) records, \(plan.checks.count) device layers, memory image \(plan.memory.count) bytes (\(plan.appendedBytes) appended)")
        }
    }

    func testEverySharedModelRunsBitExactFromItsControlRecordsAtThePaperConfiguration() throws {
        try check(AcceleratorConfig(), label: "paper config")
    }

    func testEverySharedModelRunsBitExactFromItsControlRecordsAtASmallConfiguration() throws {
        try check(Self.small, label: "PC=PF=4, PD=2, maxRow 32, depth 256")
    }
}

import Accelerator
import Mapper
import Reference
import XCTest

/// What the mapper's slicing and allocation decide, read off the instructions it emits.
final class SlicingAndAllocationTests: XCTestCase {
    private func mobileNetV2() throws -> Network {
        try Builders.mobileNetV2(widthMultiplier: 0.35, resolution: 32, classes: 10).quantizedWithRandomCalibration()
    }

    func testColumnTilesPartitionTheOutputAndFitTheLineBuffer() throws {
        var config = AcceleratorConfig(); config.pc = 4; config.pf = 4; config.pd = 2; config.maxRowWidth = 8
        let program = try Mapper.compile(try mobileNetV2(), config: config)
        var byLayer = [Int: [Instruction]]()
        for i in program.instructions where i.kind == .convolution || i.kind == .depthwise { byLayer[i.layer, default: []].append(i) }
        XCTAssertFalse(byLayer.isEmpty)
        for (layer, tiles) in byLayer {
            let covered = tiles.flatMap { Array($0.tileOutColumn ..< $0.tileOutColumn + $0.tileOutColumns) }
            XCTAssertEqual(covered, Array(0 ..< tiles[0].outputWidth), "layer \(layer)")
            for t in tiles {
                // Each 3×3 piece streams (n − 1)·stride + 3 columns through the line buffer.
                XCTAssertLessThanOrEqual((t.tileOutColumns - 1) * t.strideW + 3, config.maxRowWidth, "layer \(layer)")
                XCTAssertEqual(t.tileInColumn, t.tileOutColumn * t.strideW - t.padLeft, "layer \(layer)")
            }
        }
        // The 32-pixel first convolution (16 outputs at stride 2) needs more than one tile at maxRow 8.
        XCTAssertGreaterThan(byLayer.values.map(\.count).max() ?? 0, 1)
    }

    func testSliceCountsFollowPCAndPF() throws {
        var config = AcceleratorConfig(); config.pc = 4; config.pf = 8; config.pd = 2
        let program = try Mapper.compile(try mobileNetV2(), config: config)
        for i in program.instructions {
            switch i.kind {
            case .pointwise, .convolution:
                XCTAssertEqual(i.channelSlices, (i.inputChannels + 3) / 4)
                XCTAssertEqual(i.filterSlices, (i.outputChannels + 7) / 8)
            case .depthwise:
                XCTAssertEqual(i.channelSlices, (i.outputChannels + 3) / 4)
                XCTAssertEqual(i.filterSlices, 1)
            default: break
            }
        }
    }

    func testBottleneckTensorsLiveInRamSAndRamM() throws {
        let program = try Mapper.compile(try mobileNetV2(), config: AcceleratorConfig())
        let fused = program.instructions.filter(\.fusedAdd)
        XCTAssertFalse(fused.isEmpty, "MobileNetV2's shortcut ADDs fuse into the projections")
        XCTAssertTrue(fused.allSatisfy { $0.kind == .pointwise })
        XCTAssertTrue(fused.contains { $0.residualRoute == .ramS }, "a shortcut source (FM0) sits in RAM-S")
        XCTAssertTrue(program.instructions.contains { $0.kind == .depthwise && $0.inputRoute == .ramM && $0.outputRoute == .ramM },
                      "expansion and depthwise results stay in RAM-M")
        // The network input and output are external, where the host's DMA reaches them.
        XCTAssertEqual(program.instructions.first?.inputRoute, .external)
        XCTAssertEqual(program.dma.entries.first?.transfers.first?.address, program.inputAddress)
    }

    func testNoInstructionOverwritesWhatItReads() throws {
        for config in [AcceleratorConfig(), { var c = AcceleratorConfig(); c.pc = 4; c.pf = 4; c.pd = 2; return c }()] {
            let program = try Mapper.compile(try mobileNetV2(), config: config)
            for i in program.instructions where i.kind != .transpose {
                let out = (i.outputRoute, Int(i.outputAddress))
                XCTAssertFalse(i.inputRoute == out.0 && Int(i.inputAddress) == out.1, "layer \(i.layer) reads and writes the same bytes")
                if i.fusedAdd { XCTAssertFalse(i.residualRoute == out.0 && Int(i.residualAddress) == out.1, "layer \(i.layer)") }
            }
        }
    }
}

/// The executor's trace, checked against the Reference model's tensor of every layer span (a
/// layer's instructions, or a row-band pair's): what the RTL is compared with layer by layer.
final class ExecutorTraceTests: XCTestCase {
    func testEveryLayerSpansLastInstructionLeavesTheReferenceTensor() throws {
        let mobile = try Builders.mobileNetV2(widthMultiplier: 0.35, resolution: 32, classes: 10).quantizedWithRandomCalibration()
        var config = AcceleratorConfig(); config.pc = 4; config.pf = 4; config.pd = 2; config.maxRowWidth = 8
        for (net, options) in [(mobile, MapperOptions()), (RowBandTests.block(stride: 2), RowBandTests.options(config))] {
            let program = try Mapper.compile(net, config: config, options: options)
            // The spans cover the instructions once, in order.
            XCTAssertEqual(program.layerSpans.flatMap { Array($0.firstInstruction ... $0.lastInstruction) }, Array(program.instructions.indices))
            let input = (0 ..< net.tensors[net.inputs[0]].elementCount).map { Int8(truncatingIfNeeded: $0 &* 131 &+ 7) }
            let reference = try net.runAll(input: input)
            let spanEnding = Dictionary(uniqueKeysWithValues: program.layerSpans.map { ($0.lastInstruction, $0) })
            var checked = 0
            let executor = try Executor(program)
            _ = try executor.run(input: input) { n, instruction in
                guard let span = spanEnding[n], let expected = reference.bytes(of: span.tensor) else { return }
                XCTAssertEqual(try executor.bytes(span.route, span.address, span.length), expected, "instruction \(n) (layers \(span.layers), \(instruction.kind))")
                checked += 1
            }
            XCTAssertEqual(checked, program.layerSpans.count)
        }
    }
}

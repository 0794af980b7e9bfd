import Accelerator
import Mapper
import Reference
import XCTest

/// The control records of one-operator networks (random shapes, weights and inputs): what
/// `ControlModel` leaves in memory after each layer's last record must equal the Reference model's
/// tensor, the device output must equal it too, and the Executor must agree; at the paper's
/// configuration, a small one (PC=PF=4, PD=2, 32-pixel rows, 64 accumulator positions, so row blocks
/// and column tiles happen) and an odd one (PC=3, PF=5: weight sets that are not whole beats). Every
/// plan also respects the accumulator, line-buffer and region limits of docs/control.md.
final class ControlPlanTests: XCTestCase {
    fileprivate static var configs: [AcceleratorConfig] {
        var small = AcceleratorConfig(); small.pc = 4; small.pf = 4; small.pd = 2; small.maxRowWidth = 32; small.outputBufferDepth = 64
        var odd = AcceleratorConfig(); odd.pc = 3; odd.pf = 5; odd.pd = 1; odd.maxRowWidth = 7; odd.outputBufferDepth = 20
        return [AcceleratorConfig(), small, odd]
    }

    private func assertRecordsMatch(_ net: Network, _ what: String, seed: UInt64 = 7, configs: [AcceleratorConfig] = ControlPlanTests.configs,
                                    onChip: Bool = false, file: StaticString = #filePath, line: UInt = #line) throws {
        var rng = SeededRandom(seed: seed)
        let n = net.tensors[net.inputs[0]].elementCount
        let input = (0 ..< n).map { _ in Int8(truncatingIfNeeded: Int(rng.next() % 256) - 128) }
        let values = try net.runAll(input: input)
        let expected = try net.run(input: input)
        for c in configs {
            let label = "\(what) at PC=\(c.pc) PF=\(c.pf) maxRow \(c.maxRowWidth) depth \(c.outputBufferDepth)\(onChip ? " with RAM-S and RAM-M" : "")"
            let program = try Mapper.compile(net, config: c, options: onChip ? .device(c) : .externalOnly)
            XCTAssertEqual(try Executor(program).run(input: input), expected, "Executor: \(label)", file: file, line: line)
            let plan = try ControlPlan(program: program)
            assertLimits(plan, label, file: file, line: line)
            let lastOf = Dictionary(plan.checks.map { ($0.lastRecord, $0) }, uniquingKeysWith: { a, _ in a })
            var checked = 0
            let memory = try ControlModel.run(plan, input: input) { k, _, memory in
                guard let check = lastOf[k] else { return }
                let got = memory.bytes(check.address, check.length)
                let want = values.bytes(of: check.producedTensor) ?? []
                let bad = zip(got, want).filter { $0 != $1 }.count
                XCTAssertEqual(got.count, want.count, "layer \(check.layer) size: \(label)", file: file, line: line)
                XCTAssertEqual(bad, 0, "layer \(check.layer) (\(check.kind)): \(bad) of \(want.count) bytes differ from the Reference: \(label)", file: file, line: line)
                checked += 1
            }
            XCTAssertEqual(checked, plan.checks.count, label, file: file, line: line)
            XCTAssertEqual(plan.recordTensors.count, plan.records.count, label, file: file, line: line)
            for check in plan.checks {
                XCTAssertEqual(plan.recordTensors[check.lastRecord], check.producedTensor, "layer \(check.layer): \(label)", file: file, line: line)
            }
            let a = Int(plan.deviceOutputAddress)
            let device = memory.bytes(UInt32(a), plan.deviceOutputLength)
            XCTAssertEqual(device, values.bytes(of: plan.deviceOutputTensor), "device output: \(label)", file: file, line: line)
            XCTAssertEqual(try SimulationBundle.finish(deviceOutput: device, dma: program.dma), expected, "after host steps: \(label)", file: file, line: line)
        }
    }

    private func assertLimits(_ plan: ControlPlan, _ label: String, file: StaticString, line: UInt) {
        let c = plan.config
        for (n, r) in plan.records.enumerated() {
            let at = "record \(n) (layer \(r.layer)): \(label)"
            if r.op == .conv && r.mode != .pointwise {
                XCTAssertLessThanOrEqual(r.outputPositions, c.outputBufferDepth, "positions per pass, \(at)", file: file, line: line)
                if r.mode != .folded {   // a folded row's columns are a position's beats, not line-buffer pixels
                    XCTAssertLessThanOrEqual(r.regionCols, c.maxRowWidth, "region columns, \(at)", file: file, line: line)
                }
                XCTAssertLessThanOrEqual(r.regionRows, 4096, "region rows, \(at)", file: file, line: line)
            }
            if r.op == .conv && r.mode == .folded {
                XCTAssertLessThan((r.regionCols - 1) * (r.oneTapPerBeat ? 1 : c.foldTaps), c.pk, "a folded position's last beat starts on a tap lane, \(at)", file: file, line: line)
            }
            if r.op == .conv && r.mode == .pointwise {
                // A wide pass's engine beat is one position.
                let beats = r.wide ? r.outputPositions : (r.outputPositions + c.pv - 1) / c.pv
                XCTAssertLessThanOrEqual(beats, c.outputBufferDepth, "engine beats per pass, \(at)", file: file, line: line)
            }
            XCTAssertTrue(!r.wide || (r.op == .conv && (r.mode == .pointwise || r.mode == .standard) && c.pointwiseSlices > 1 && !r.residual),
                          "wide pass, \(at)", file: file, line: line)
            if r.wide && r.mode == .standard {
                XCTAssertLessThanOrEqual(r.outChunk, SplitWindow.groups * c.pf, "split window output, \(at)", file: file, line: line)
            }
            if r.residual { XCTAssertLessThanOrEqual(r.outputPositions, c.outputBufferDepth, "residual positions, \(at)", file: file, line: line) }
            XCTAssertLessThanOrEqual(max(r.inChunk, r.outChunk), c.streamBytes, "chunk, \(at)", file: file, line: line)
            // A depthwise pass loads one group of parameters per channel slice its beats carry.
            // A wide pass, one per filter group it computes.
            let slices = r.op == .conv && r.mode == .depthwise ? max(1, (r.inChunk + c.pc - 1) / c.pc)
                : r.wide ? max(1, (r.outChunk + c.pf - 1) / c.pf) : 1
            XCTAssertLessThanOrEqual(slices, r.wide ? (r.singleSlice ? c.singleSliceSlots : c.pointwiseSlices) : c.depthwiseSlices,
                                     "slices per beat, \(at)", file: file, line: line)
            if r.loadParams { XCTAssertEqual(r.paramRecords, max(c.pc, c.pf) * slices, "parameter records, \(at)", file: file, line: line) }
        }
    }

    private func shape(_ rng: inout SeededRandom, h: ClosedRange<Int>, w: ClosedRange<Int>, c: ClosedRange<Int>) -> [Int] {
        [1, h.lowerBound + Int(rng.next() % UInt64(h.count)), w.lowerBound + Int(rng.next() % UInt64(w.count)), c.lowerBound + Int(rng.next() % UInt64(c.count))]
    }

    func testStandardConvolutionsOfEveryKernelSizeStrideAndPadding() throws {
        var rng = SeededRandom(seed: 101)
        for (k, stride, padding) in [((3, 3), 1, Padding.same), ((3, 3), 2, .same), ((3, 3), 1, .valid), ((5, 5), 1, .same),
                                     ((10, 4), 2, .same), ((7, 7), 2, .valid), ((1, 3), 1, .same), ((2, 2), 2, .valid)] {
            var b = NetBuilder(seed: UInt64(k.0 * 10 + k.1))
            let s = shape(&rng, h: 10 ... 20, w: 9 ... 40, c: 1 ... 19)
            let x = b.input(s)
            b.output(b.conv(x, outputs: 3 + Int(rng.next() % 18), kernel: k, stride: stride, padding: padding, activation: .relu))
            try assertRecordsMatch(b.net, "conv \(k) stride \(stride) \(padding) on \(s)")
        }
    }

    /// A convolution whose kernel is not 3×3 can run as a pointwise layer over its im2col image (its
    /// taps folded into channels), built by copies: KWS's 10×4 stride-2 SAME first layer on 49×10×1
    /// becomes a 40-channel pointwise layer over 125 positions instead of 8 3×3 pieces streaming
    /// 1-byte pixels; the cycle model picks it at the paper's configuration and at B = 64. A kernel
    /// row's 4 taps are 4 contiguous input bytes, so the image is one copy per kernel row (10 passes
    /// of 125 four-byte beats at position stride 40; rows in the vertical padding are fill beats),
    /// after one copy of the 49 input rows (10-byte beats) into a 12-pixel-wide image whose padding
    /// columns hold the input zero point, instead of 40 one-byte copies, one per tap. A 5×5 kernel
    /// over 6 channels (30 bytes a kernel row) and VALID padding: per tap at B = 16, per kernel row
    /// straight from the input at B = 64, whichever the model then prefers, bit-exact either way.
    func testConvolutionsRunAsPointwiseLayersOverTheirIm2colImageWhereThatIsFaster() throws {
        var b = NetBuilder(seed: 63)
        b.output(b.conv(b.input([1, 49, 10, 1]), outputs: 64, kernel: (10, 4), stride: 2, padding: .same, activation: .relu))
        var wide = AcceleratorConfig(); wide.streamBytes = 64
        for c in [AcceleratorConfig(), wide] {
            let plan = try ControlPlan(program: try Mapper.compile(b.net, config: c, options: .externalOnly))
            let copies = plan.records.filter { $0.op == .copy }
            let at = "B = \(c.streamBytes)"
            XCTAssertEqual(copies.count, 11, at)
            XCTAssertEqual(copies.first.map { [$0.inChunk, $0.outputPositions, Int($0.outputPixelStride)] }, [10, 49, 12], "the padded input: \(at)")
            let rows = copies.dropFirst()
            XCTAssertTrue(rows.allSatisfy { $0.inChunk == 4 && $0.outputPositions == 125 && $0.outputPixelStride == 40 }, at)
            XCTAssertEqual(Set(rows.map(\.outputAddress)).count, 10, "one kernel row each: \(at)")
            XCTAssertTrue(plan.records.filter { $0.op == .conv }.allSatisfy { $0.mode != .standard }, at)
        }
        try assertRecordsMatch(b.net, "KWS's first layer", configs: Self.configs + [wide])
        var v = NetBuilder(seed: 64)
        v.output(v.conv(v.input([1, 12, 11, 6]), outputs: 9, kernel: (5, 5), stride: 1, padding: .valid, activation: .none))
        try assertRecordsMatch(v.net, "5×5 VALID over 6 channels", configs: Self.configs + [wide])
        // Two channels at B = 16: an input row (20 bytes) is wider than a beat, so the padded image
        // is copied a pixel a beat, then 10 kernel rows of 8 bytes.
        var p = NetBuilder(seed: 67)
        p.output(p.conv(p.input([1, 49, 10, 2]), outputs: 16, kernel: (10, 4), stride: 2, padding: .same, activation: .relu))
        let padded = try ControlPlan(program: try Mapper.compile(p.net, config: AcceleratorConfig(), options: .externalOnly))
        XCTAssertEqual(padded.records.filter { $0.op == .copy }.map(\.inChunk), [2] + Array(repeating: 8, count: 10))
        try assertRecordsMatch(p.net, "10×4 SAME over 2 channels", configs: Self.configs + [wide])
        // A depthwise layer with a multiplier is a convolution whose weights are zero off its
        // channel (the standard sets already say so): micro_speech's 10×8 stride-2 ×8 over one
        // channel is 10 row copies of 500 eight-byte beats and an 80-channel pointwise layer.
        var d = NetBuilder(seed: 65)
        d.output(d.depthwise(d.input([1, 49, 40, 1]), kernel: (10, 8), stride: 2, multiplier: 8, padding: .same))
        for c in [AcceleratorConfig(), wide] {
            let plan = try ControlPlan(program: try Mapper.compile(d.net, config: c, options: .externalOnly))
            let rows = plan.records.filter { $0.op == .copy && $0.inChunk == 8 }
            XCTAssertEqual(rows.map(\.outputPositions), Array(repeating: 500, count: 10), "B = \(c.streamBytes)")
        }
        var m = NetBuilder(seed: 66)
        m.output(m.depthwise(m.input([1, 13, 11, 3]), kernel: (5, 4), stride: 2, multiplier: 2, padding: .same))
        try assertRecordsMatch(d.net, "micro_speech's depthwise ×8 on its im2col image", configs: Self.configs + [wide])
        try assertRecordsMatch(m.net, "depthwise 5×4 ×2 over 3 channels", configs: Self.configs + [wide])
    }

    func testConvolutionWithDifferentRowAndColumnStrides() throws {
        for (sh, sw) in [(2, 1), (1, 2)] {
            var b = NetBuilder(seed: UInt64(40 + sh))
            let x = b.input([1, 11, 13, 5])
            b.output(b.conv(x, outputs: 6, kernel: (3, 3), stride: sh, padding: .same, activation: .none, strideW: sw))
            try assertRecordsMatch(b.net, "conv 3x3 stride \(sh)x\(sw)")
        }
    }

    func testPointwiseConvolutionsIncludingStrideTwo() throws {
        var rng = SeededRandom(seed: 102)
        for stride in [1, 2] {
            var b = NetBuilder(seed: 3)
            let s = shape(&rng, h: 5 ... 30, w: 5 ... 30, c: 1 ... 40)
            let x = b.input(s)
            b.output(b.conv(x, outputs: 1 + Int(rng.next() % 40), kernel: (1, 1), stride: stride, padding: .same, activation: .relu6))
            try assertRecordsMatch(b.net, "pointwise stride \(stride) on \(s)")
        }
    }

    /// Where a beat holds several PC-channel slices (B = 64, PC = 16: foldTaps 4), a pointwise pass
    /// takes a position's chunk of up to PK·PC = 144 channels as one engine beat, 4 slices per beat:
    /// 200 channels are chunks of 144 (3 beats, the last one's 16 bytes on tap 8) and 56 (1 short
    /// beat), 2 passes per filter group instead of 13 slices. A pass loads the weights of the taps
    /// its data reaches; the later taps read fill and add nothing. The groups after the first replay
    /// the positions the first kept in the input buffer.
    /// (DSP packing keeps S = 1 here, so no wide pointwise passes compete with the folded ones.)
    func testPointwiseConvolutionsFoldTheirChannelSlicesOntoTheTapLanesWhereABeatHoldsSeveral() throws {
        var wide = AcceleratorConfig(); wide.streamBytes = 64; wide.dspPacking = true
        XCTAssertEqual(wide.foldTaps, 4)
        XCTAssertEqual(wide.pointwiseSlices, 1)
        for stride in [1, 2] {
            var b = NetBuilder(seed: 55)
            let x = b.input([1, 7, 10, 200])
            b.output(b.conv(x, outputs: 37, kernel: (1, 1), stride: stride, padding: .same, activation: .relu6))
            let plan = try ControlPlan(program: try Mapper.compile(b.net, config: wide, options: .externalOnly))
            let outRows = stride == 1 ? 7 : 4, outCols = stride == 1 ? 10 : 5
            // Stride 1: the 70 positions are one run at a 200-byte stride; stride 2: one run per output row.
            let runs = stride == 1 ? 1 : outRows
            XCTAssertEqual(plan.records.count, runs * 3 * 2, "stride \(stride)")
            XCTAssertTrue(plan.records.allSatisfy { $0.mode == .folded }, "stride \(stride)")
            // The first filter group keeps each chunk's positions in the input buffer, the other two
            // replay them: one fill beat per position, nothing read.
            let positions = plan.records[0].regionRows
            XCTAssertEqual(plan.records.prefix(2).map(\.keep), [true, true])
            XCTAssertEqual(plan.records.prefix(2).map(\.bufferRow0), [0, positions])
            let replays = plan.records[2 ..< 6]
            XCTAssertTrue(replays.allSatisfy { $0.replay && !$0.keep && $0.regionCols == 1 && $0.imageRows == 0 }, "stride \(stride)")
            XCTAssertEqual(replays.map(\.bufferRow0), [0, positions, 0, positions])
            XCTAssertEqual(plan.records.prefix(2).map(\.regionCols), [3, 1])
            XCTAssertEqual(plan.records.prefix(2).map(\.inChunk), [64, 56])
            XCTAssertEqual(plan.records.prefix(2).map(\.inputPixelStride), [64, 64])
            // Weights only up to the last data byte's tap: all 9 taps, then 56 channels of taps 0-3 (× PF = 16).
            XCTAssertEqual(plan.records.prefix(2).map(\.weightBeats), [36, 14])
            XCTAssertEqual(plan.records[0].regionRows, stride == 1 ? outRows * outCols : outCols)
            XCTAssertEqual(plan.records[0].inputRowStride, UInt32(200 * stride))
            try assertRecordsMatch(b.net, "folded pointwise stride \(stride)", configs: [wide, Self.configs[1]])
        }
        // One beat per position in every chunk: replaying saves nothing, so nothing is kept.
        var b = NetBuilder(seed: 56)
        b.output(b.conv(b.input([1, 6, 6, 48]), outputs: 40, kernel: (1, 1), stride: 1, padding: .same, activation: .none))
        let single = try ControlPlan(program: try Mapper.compile(b.net, config: wide, options: .externalOnly))
        XCTAssertTrue(single.records.allSatisfy { $0.mode == .folded && !$0.keep && !$0.replay })
        XCTAssertEqual(PlanChunks.of(200, wide), [144, 56])
        XCTAssertEqual(PlanChunks.of(96, wide), [96])
        XCTAssertEqual(PlanChunks.of(64, wide), [64])
        XCTAssertEqual(PlanChunks.of(320, wide), [144, 144, 32])
    }

    /// Where the engine has pixel slices and PC = PF (B = 64, PC = PF = 16: S = 4), an expansion
    /// layer runs as wide pointwise passes: each beat is one position's PC input channels, pixel
    /// lane v computes filter group v of the pass's run, and the position's S·PF results leave as
    /// one 64-byte beat instead of four 16-byte ones. 16 → 96 channels: runs of 4 and 2 filter
    /// groups, one slice each; their weight sets are the groups' PC·PF bytes one after the other
    /// and their parameter blocks one group of PF records per filter group. The engine's other pixel
    /// lanes take further input slices of the same beat (K = min(PV / S, B / PC) = 2 here), their
    /// sums added per filter group.
    func testExpansionLayersRunAsWidePassesWritingSeveralFilterGroupsOfAPositionPerBeat() throws {
        var wide = AcceleratorConfig(); wide.streamBytes = 64
        XCTAssertEqual(wide.pointwiseSlices, 4)
        var unequal = wide; unequal.pf = 8
        XCTAssertEqual(unequal.pointwiseSlices, 1, "the output path packs lane v's bytes at v·PC, so wide passes need PC = PF")
        var b = NetBuilder(seed: 58)
        b.output(b.conv(b.input([1, 12, 10, 16]), outputs: 96, kernel: (1, 1), stride: 1, padding: .same, activation: .relu6))
        let plan = try ControlPlan(program: try Mapper.compile(b.net, config: wide, options: .externalOnly))
        XCTAssertTrue(plan.records.allSatisfy { $0.wide && $0.mode == .pointwise && $0.first && $0.last })
        XCTAssertEqual(plan.records.map(\.outChunk), [64, 32])
        XCTAssertEqual(plan.records.map(\.paramRecords), [64, 32])
        XCTAssertEqual(plan.records.map(\.weightBeats), [16, 8])
        XCTAssertEqual(plan.records.map(\.outputPositions), [120, 120])
        XCTAssertEqual(plan.records.map(\.outputPixelStride), [96, 96])
        XCTAssertEqual(plan.records[1].outputAddress, plan.records[0].outputAddress + 64)
        try assertRecordsMatch(b.net, "16 → 96 expansion", configs: [wide, Self.configs[1], unequal])
        // 24 → 144 at stride 2: a beat takes K = 2 slices (lanes 0-3 slice 0, lanes 4-7 slice 1), so
        // the 24 channels are one pass per run; 9 filter groups in runs of 4, 4, 1. A run's set is
        // slice 0 of its 4 groups (zeros past the run) then slice 1 of its n groups.
        XCTAssertEqual(wide.pointwiseBeatSlices, 2)
        var b2 = NetBuilder(seed: 59)
        b2.output(b2.conv(b2.input([1, 11, 9, 24]), outputs: 144, kernel: (1, 1), stride: 2, padding: .same, activation: .none))
        let strided = try ControlPlan(program: try Mapper.compile(b2.net, config: wide, options: .externalOnly))
        XCTAssertTrue(strided.records.allSatisfy { $0.wide && $0.first && $0.last })
        XCTAssertEqual(strided.records.map(\.inChunk), [24, 24, 24])
        XCTAssertEqual(strided.records.map(\.outChunk), [64, 64, 16])
        XCTAssertEqual(strided.records.map(\.weightBeats), [32, 32, 20])
        try assertRecordsMatch(b2.net, "24 → 144 expansion, stride 2", configs: [wide, Self.configs[1]])
    }

    /// Where the beat holds more depthwise slices than there are two-slice wide slots (B = 128:
    /// six slices, four slots), a position of at most PC channels runs on single-slice slots, one
    /// filter group per depthwise window group: 16 → 96 in one pass of 96 output bytes instead of
    /// two (64 + 32). Wider positions keep the two-slice slots (24 → 144: one pass per four groups
    /// beats two passes per six). Also at PC = PF = 8, PD = 6, B = 64 (six single-slice slots),
    /// against the Reference, stride 2 and a partial last run included.
    func testPositionsOfOneSliceRunOnSingleSliceSlotsWhereThereAreMoreOfThem() throws {
        var wide = AcceleratorConfig(); wide.streamBytes = 128
        XCTAssertEqual([wide.depthwiseSlices, wide.pointwiseSlices, wide.pointwiseBeatSlices, wide.singleSliceSlots], [6, 4, 2, 6])
        var b = NetBuilder(seed: 60)
        b.output(b.conv(b.input([1, 12, 10, 16]), outputs: 96, kernel: (1, 1), stride: 1, padding: .same, activation: .relu6))
        let plan = try ControlPlan(program: try Mapper.compile(b.net, config: wide, options: .externalOnly))
        XCTAssertTrue(plan.records.allSatisfy { $0.wide && $0.singleSlice && $0.first && $0.last })
        XCTAssertEqual(plan.records.map(\.outChunk), [96])
        XCTAssertEqual(plan.records.map(\.paramRecords), [96])
        XCTAssertEqual(plan.records.map(\.weightBeats), [12], "six groups' 256-byte sets")
        try assertRecordsMatch(b.net, "16 → 96 expansion at B = 128", configs: [wide])
        var b2 = NetBuilder(seed: 61)
        b2.output(b2.conv(b2.input([1, 11, 9, 24]), outputs: 144, kernel: (1, 1), stride: 1, padding: .same, activation: .none))
        let two = try ControlPlan(program: try Mapper.compile(b2.net, config: wide, options: .externalOnly))
        XCTAssertTrue(two.records.allSatisfy { $0.wide && !$0.singleSlice }, "24 channels: the two-slice slots")
        try assertRecordsMatch(b2.net, "24 → 144 expansion at B = 128", configs: [wide])
        // The byte-moving passes use them too, each slot taking its bytes from its own offset: the
        // NCHW → NHWC transpose of RGB moves 32 pixels a beat (96 bytes out) instead of 21, and the
        // stride-2 convolution's s2d image 8 s2d pixels a beat (48 bytes in, 96 out) instead of 5.
        var t = NetBuilder(seed: 62)
        let u = t.transpose(t.input([1, 3, 40, 64]), [0, 2, 3, 1])
        t.output(t.conv(u, outputs: 32, kernel: (3, 3), stride: 2, padding: .same, activation: .relu6))
        let moved = try ControlPlan(program: try Mapper.compile(t.net, config: wide, options: .externalOnly)).records.filter(\.singleSlice)
        XCTAssertTrue(moved.contains { $0.inChunk == 32 && $0.outChunk == 96 && !$0.slotOffsets.isEmpty }, "the transpose")
        XCTAssertTrue(moved.contains { $0.inChunk == 48 && $0.outChunk == 96 && !$0.slotOffsets.isEmpty }, "the s2d image")
        try assertRecordsMatch(t.net, "NCHW RGB transposed, then a stride-2 convolution, at B = 128", configs: [wide])
        // And packed positions: 8 → 16 takes six positions a beat (one slot each) instead of four.
        var k = NetBuilder(seed: 63)
        k.output(k.conv(k.input([1, 24, 24, 8]), outputs: 16, kernel: (1, 1), stride: 1, padding: .same, activation: .relu6))
        let packed = try ControlPlan(program: try Mapper.compile(k.net, config: wide, options: .externalOnly)).records
        XCTAssertEqual(packed.map(\.inChunk), [48])
        XCTAssertEqual(packed.map(\.outChunk), [96])
        XCTAssertEqual(packed.map(\.singleSlice), [true])
        XCTAssertEqual(packed.map(\.slotOffsets), [[0, 1, 2, 3, 4, 5]], "slot p at 8·p bytes (units of PC / 2)")
        try assertRecordsMatch(k.net, "8 → 16 packed six positions a beat at B = 128", configs: [wide])
        var small = AcceleratorConfig(); small.pc = 8; small.pf = 8; small.pd = 6; small.streamBytes = 64; small.outputBufferDepth = 64
        XCTAssertEqual([small.pointwiseSlices, small.singleSliceSlots], [4, 6])
        for (shape, outputs, stride, chunks) in [([1, 9, 7, 8], 48, 1, [48]), ([1, 9, 7, 6], 72, 2, [48, 24])] {
            var n = NetBuilder(seed: UInt64(outputs))
            n.output(n.conv(n.input(shape), outputs: outputs, kernel: (1, 1), stride: stride, padding: .same, activation: .relu))
            let p = try ControlPlan(program: try Mapper.compile(n.net, config: small, options: .externalOnly))
            XCTAssertTrue(p.records.allSatisfy { $0.wide && $0.singleSlice }, "\(shape) → \(outputs)")
            XCTAssertEqual(Array(Set(p.records.map(\.outChunk))).sorted(by: >), chunks, "\(shape) → \(outputs)")
            try assertRecordsMatch(n.net, "\(shape) → \(outputs), stride \(stride), single-slice slots", configs: [small])
        }
    }

    func testDepthwiseWithMultipliersLargeKernelsAndStrides() throws {
        var rng = SeededRandom(seed: 103)
        for (k, stride, m, padding) in [((3, 3), 1, 1, Padding.same), ((3, 3), 2, 1, .same), ((3, 3), 1, 8, .same), ((3, 3), 2, 3, .valid),
                                        ((10, 8), 2, 1, .same), ((5, 1), 1, 2, .valid), ((15, 1), 1, 1, .valid)] {
            var b = NetBuilder(seed: UInt64(k.0 + 100 * m))
            let s = shape(&rng, h: 15 ... 24, w: 8 ... 40, c: 1 ... 21)
            let x = b.input(s)
            b.output(b.depthwise(x, kernel: k, stride: stride, multiplier: m, padding: padding))
            try assertRecordsMatch(b.net, "depthwise \(k) stride \(stride) ×\(m) \(padding) on \(s)")
        }
    }

    /// Where a beat holds several PC-channel slices (B = 64, PC = 16, PD = 6: S = 4), a depthwise
    /// pass takes a pixel's S slices in one beat, one per window group of the engine: 96 channels
    /// are a run of 64 and one of 32, each with its slices' weight sets back to back (4 · 144 bytes
    /// = 9 beats, 2 · 144 = 5) and a parameter group per slice; 6 slices in 2 passes instead of 6.
    func testDepthwisePassesTakeSeveralChannelSlicesPerBeatOnTheWindowGroups() throws {
        var wide = AcceleratorConfig(); wide.streamBytes = 64
        XCTAssertEqual(wide.depthwiseSlices, 4)
        var packed = wide; packed.dspPacking = true
        XCTAssertEqual(packed.depthwiseSlices, 1, "packing shares a weight between two groups, so every group is on one slice")
        var b = NetBuilder(seed: 57)
        b.output(b.depthwise(b.input([1, 9, 13, 96]), kernel: (3, 3), stride: 2, multiplier: 1, padding: .same))
        let plan = try ControlPlan(program: try Mapper.compile(b.net, config: wide, options: .externalOnly))
        XCTAssertEqual(plan.records.map(\.inChunk), [64, 32])
        XCTAssertEqual(plan.records.map(\.outChunk), [64, 32])
        XCTAssertEqual(plan.records.map(\.weightBeats), [9, 5])
        XCTAssertEqual(plan.records.map(\.paramRecords), [64, 32])
        XCTAssertEqual(plan.records.map(\.inputAddress), [plan.inputAddress, plan.inputAddress + 64])
        try assertRecordsMatch(b.net, "depthwise of 96 channels, slices per beat", configs: [wide, Self.configs[1], packed])
    }

    /// A stride-1 SAME depthwise layer whose channels are fewer than the beat's slices carries
    /// several horizontally adjacent positions a beat (DepthwisePositions): at B = 128 (S = 6) a
    /// 32-channel layer 12 wide takes three positions of two slices, its image four pixels of
    /// 96 bytes, each position's weights and parameters the layer's own (one weight set of six
    /// slices, 7 beats; six parameter groups); 8 wide, two (3 is not a divisor); 16 channels 10
    /// wide, five; 8 channels (half a slice) 48 wide, twelve; where the most positions do not divide the width, they run over all but the
    /// last few columns and those at fewer. Stride 2, VALID, a fused ADD or a single position a
    /// row leave it per position.
    func testDepthwiseBeatsCarrySeveralPositionsWhereTheLayerHasFewerSlicesThanTheBeat() throws {
        var paper = AcceleratorConfig(); paper.streamBytes = 128
        XCTAssertEqual(paper.depthwiseSlices, 6)
        func plan(_ shape: [Int], stride: Int = 1, padding: Padding = .same) throws -> (Network, ControlPlan) {
            var b = NetBuilder(seed: 61)
            b.output(b.depthwise(b.input(shape), kernel: (3, 3), stride: stride, multiplier: 1, padding: padding))
            return (b.net, try ControlPlan(program: try Mapper.compile(b.net, config: paper, options: .externalOnly)))
        }
        let (net, three) = try plan([1, 5, 12, 32])
        XCTAssertEqual(three.records.map(\.depthwisePositions), [3])
        XCTAssertEqual(three.records.map(\.positionSlices), [2])
        XCTAssertEqual(three.records.map(\.inChunk), [96])
        XCTAssertEqual(three.records.map(\.outChunk), [96])
        XCTAssertEqual(three.records.map(\.imageCols), [4])
        XCTAssertEqual(three.records.map(\.inputPixelStride), [96])
        XCTAssertEqual(three.records.map(\.outputCols), [4])
        XCTAssertEqual(three.records.map(\.weightBeats), [(6 * 9 * 16 + 127) / 128])
        XCTAssertEqual(three.records.map(\.paramRecords), [6 * 16])
        XCTAssertEqual(try plan([1, 5, 8, 32]).1.records.map(\.depthwisePositions), [2])
        // 112 wide, as MobileNetV2's: three positions a beat over columns 0 ..< 108 (the wide
        // pixel of columns 108-110 has column 111, not padding, on its right), two over the last 4.
        let (wideNet, wide) = try plan([1, 64, 112, 32])
        XCTAssertEqual(wide.records.map(\.depthwisePositions), [3, 2])
        XCTAssertEqual(wide.records.map(\.outputCols), [36, 2])
        XCTAssertEqual(wide.records.map(\.imageCols), [37, 56])
        XCTAssertEqual(wide.records.map(\.outputRowStride), [112 * 32, 112 * 32])
        XCTAssertEqual(wide.records.map { $0.outputAddress - wide.records[0].outputAddress }, [0, 108 * 32])
        try assertRecordsMatch(wideNet, "depthwise of 32 channels 112 wide, three positions a beat and two", configs: [paper])
        XCTAssertEqual(try plan([1, 3, 10, 16]).1.records.map(\.depthwisePositions), [5])
        for (shape, stride, padding) in [([1, 6, 12, 32], 2, Padding.same), ([1, 6, 12, 32], 1, .valid), ([1, 6, 1, 32], 1, .same), ([1, 6, 12, 40], 1, .same)] {
            XCTAssertEqual(try plan(shape, stride: stride, padding: padding).1.records.map(\.depthwisePositions).max(), 1, "\(shape) stride \(stride) \(padding)")
        }
        try assertRecordsMatch(net, "depthwise of 32 channels, three positions a beat", configs: [paper])
        var b64 = paper; b64.streamBytes = 64
        var s = NetBuilder(seed: 62)
        let e = s.conv(s.input([1, 7, 10, 8]), outputs: 16, kernel: (1, 1), stride: 1, padding: .same, activation: .relu6)
        let d = s.depthwise(e, kernel: (3, 3), stride: 1, multiplier: 1, padding: .same)
        s.output(s.conv(d, outputs: 8, kernel: (1, 1), stride: 1, padding: .same, activation: .none))
        XCTAssertTrue(try ControlPlan(program: try Mapper.compile(s.net, config: b64, options: .externalOnly)).records.contains { $0.depthwisePositions == 2 })
        try assertRecordsMatch(s.net, "expansion, depthwise of positions, projection", configs: [paper, b64, ControlPlanTests.configs[1]])
        // Eight channels, half a slice: twelve positions a beat (96 bytes), every lane's weights and
        // parameters those of its channel.
        let (eightNet, eight) = try plan([1, 6, 48, 8])
        XCTAssertEqual(eight.records.map(\.depthwisePositions), [12])
        XCTAssertEqual(eight.records.map(\.positionHalfSlice), [true])
        XCTAssertEqual(eight.records.map(\.inChunk), [96])
        XCTAssertEqual(eight.records.map(\.paramRecords), [6 * 16])
        try assertRecordsMatch(eightNet, "depthwise of 8 channels, twelve positions a beat", configs: [paper])
        // Every shape the engine takes (a layer P wide: one wide pixel a row), on random images,
        // against the Reference.
        for shape in DepthwisePositions.shapes(slices: paper.depthwiseSlices, pc: paper.pc) {
            let p = shape.positions, c = shape.channels(pc: paper.pc)
            var r = NetBuilder(seed: UInt64(70 + 10 * p + c))
            r.output(r.depthwise(r.input([1, 24, p, c]), kernel: (3, 3), stride: 1, multiplier: 1, padding: .same))
            let plan = try ControlPlan(program: try Mapper.compile(r.net, config: paper, options: .externalOnly))
            XCTAssertEqual(plan.records.map(\.depthwisePositions), [p], "\(p) positions of \(c) channels")
            XCTAssertEqual(plan.records.map(\.positionHalfSlice), [shape.half], "\(p) positions of \(c) channels")
            try assertRecordsMatch(r.net, "depthwise of \(c) channels \(p) wide", configs: [paper])
        }
    }

    func testFullyConnectedPerTensorPerChannelAndWithAWeightZeroPoint() throws {
        for (perChannel, zp, range) in [(false, Int32(0), 127), (true, 0, 127), (false, 9, 100)] {
            var b = NetBuilder(seed: 11)
            let x = b.input([1, 150])
            b.output(b.fullyConnected(x, outputs: 37, perChannel: perChannel, weightZeroPoint: zp, weightRange: range))
            try assertRecordsMatch(b.net, "fc per-channel \(perChannel) weight zp \(zp)")
        }
        var b = NetBuilder(seed: 12)
        let x = b.input([1, 4, 10])
        b.output(b.fullyConnected(x, outputs: 5, perChannel: false, batches: 4))
        try assertRecordsMatch(b.net, "fc over 4 batches")
    }

    /// With fewer batches than PV, FC runs one pass per filter group and chunk of PK·PC inputs, not
    /// pointwise passes of PC: as standard 3×3 passes, one per batch, where a stream beat carries one
    /// slice (the paper's configuration at B = 16), and as folded passes whose positions are the
    /// batches where it carries several (PC = 4 and PC = 3 at B = 16: three slices a beat), the first
    /// filter group keeping each chunk in the input buffer and the others replaying it, one fill
    /// beat a batch. With PV batches or more the pointwise passes stay. The depths leave partial
    /// last chunks of 1 to 9 pixels (n % 3 ≠ 0 among them: 300 and 214 inputs at PC=16 are 1 and 5
    /// pixels, at PC=3 1 and 9).
    func testFullyConnectedWithFewBatchesIsOnePassPerFilterGroupAndChunkOfPKTimesPCInputs() throws {
        func ceilDiv(_ a: Int, _ b: Int) -> Int { (a + b - 1) / b }
        for (batches, depth, outs) in [(1, 300, 37), (1, 214, 37), (1, 1280, 20), (4, 214, 9), (9, 40, 7)] {
            var b = NetBuilder(seed: UInt64(depth + batches))
            let x = b.input([batches, depth])
            b.output(b.fullyConnected(x, outputs: outs, perChannel: depth != 214, weightZeroPoint: depth == 214 ? 9 : 0, weightRange: 100, batches: batches))
            for c in Self.configs {
                let plan = try ControlPlan(program: try Mapper.compile(b.net, config: c, options: .externalOnly))
                let fc = plan.records.filter { $0.op == .conv }
                let label = "\(batches)×\(depth) → \(outs) at PC=\(c.pc) PF=\(c.pf)"
                let groups = ceilDiv(outs, c.pf), chunks = ceilDiv(depth, c.pk * c.pc)
                if batches >= c.pv {
                    XCTAssertEqual(fc.count, groups * ceilDiv(depth, c.pc), label)
                    XCTAssertTrue(fc.allSatisfy { $0.mode == .pointwise }, label)
                } else if c.foldTaps == 1 {
                    XCTAssertEqual(fc.count, batches * groups * chunks, label)
                    XCTAssertTrue(fc.allSatisfy { $0.mode == .standard && $0.outputPositions == 1 }, label)
                } else {
                    XCTAssertEqual(fc.count, groups * chunks, label)
                    XCTAssertTrue(fc.allSatisfy { $0.mode == .folded && $0.outputPositions == batches }, label)
                    // A chunk moves in ceil(PK·PC / t·PC) beats a batch, once.
                    XCTAssertTrue(fc.allSatisfy { $0.regionCols <= (c.pk + c.foldTaps - 1) / c.foldTaps }, label)
                    if groups > 1 {
                        XCTAssertEqual(fc.prefix(chunks).map(\.keep), Array(repeating: true, count: chunks), label)
                        XCTAssertTrue(fc.dropFirst(chunks).allSatisfy { $0.replay && $0.regionCols == 1 }, label)
                    }
                }
            }
            try assertRecordsMatch(b.net, "fc \(batches)×\(depth) → \(outs)")
        }
        // The ADD of two FCs fused into the second: the residual is added at its last pass.
        var b = NetBuilder(seed: 77)
        let x = b.input([1, 214])
        let f = b.fullyConnected(x, outputs: 21, perChannel: false)
        b.output(b.add(f, b.fullyConnected(x, outputs: 21, perChannel: true)))
        let plan = try ControlPlan(program: try Mapper.compile(b.net, config: AcceleratorConfig(), options: .externalOnly))
        XCTAssertTrue(plan.records.contains { $0.residual && $0.mode == .standard }, "the ADD is fused into the second FC's windows")
        try assertRecordsMatch(b.net, "fc + fc, fused ADD")
    }

    func testAWeightZeroPointThatCannotBeFoldedIsAOneLineError() throws {
        var b = NetBuilder(seed: 13)
        let x = b.input([1, 40])
        b.output(b.fullyConnected(x, outputs: 3, perChannel: false, weightZeroPoint: 100))
        let program = try Mapper.compile(b.net, config: AcceleratorConfig(), options: .externalOnly)
        XCTAssertThrowsError(try ControlPlan(program: program)) { e in
            let m = "\(e)"
            XCTAssertTrue(m.hasPrefix("layer 0 (FULLY_CONNECTED): weight ") && m.contains("zero point 100") && !m.contains("\n"), m)
        }
    }

    func testAveragePoolsInsideTheImageAndMean() throws {
        for (s, o) in [([1, 9, 7, 6], PoolOptions(filterH: 3, filterW: 3, strideH: 1, strideW: 1, padding: .valid)),
                       ([1, 12, 10, 7], PoolOptions(filterH: 2, filterW: 2, strideH: 2, strideW: 2, padding: .valid)),
                       ([1, 25, 5, 9], PoolOptions(filterH: 25, filterW: 5)),
                       ([1, 8, 8, 20], PoolOptions(filterH: 8, filterW: 8)),
                       ([1, 11, 13, 5], PoolOptions(filterH: 4, filterW: 5, strideH: 2, strideW: 2, padding: .valid))] {
            var b = NetBuilder(seed: 5)
            let x = b.input(s)
            b.output(b.averagePool(x, o))
            try assertRecordsMatch(b.net, "avgpool \(o.filterH)x\(o.filterW)/\(o.strideH) on \(s)")
        }
        var m = NetBuilder(seed: 8)
        let z = m.input([1, 7, 8, 20])
        m.output(m.mean(z))
        try assertRecordsMatch(m.net, "mean")
    }

    /// A pool whose one window is the whole image (KWS's 25×5, ResNet's 8×8) can sum every position
    /// of each slice as MEAN does, with the pool's arithmetic: raw x (fill 0), output zero point 0,
    /// the exact reciprocal of H·W and the fused clamp. A folded pass takes 9 positions of every
    /// slice (one tap lane a beat, also where a beat could fill several), where the depthwise
    /// lowering has a pass per 3×3 piece and slice, but each folded pass loads its ones set again,
    /// so the cycle model chooses. KWS's 25×5×64 at PC = 16: ceil(125 / 9) = 14 folded passes at
    /// 16- and 64-byte beats instead of 18 pieces × 4 slices; 25×5×5, one slice, stays 18 depthwise
    /// passes.
    func testAGlobalAveragePoolSumsEveryPositionOnceAsMeanDoesWhereThatIsFaster() throws {
        var wide = AcceleratorConfig(); wide.streamBytes = 64
        for (channels, runs) in [(64, [(AcceleratorConfig(), 14, true), (wide, 14, true)]), (5, [(AcceleratorConfig(), 18, false)])] {
            var b = NetBuilder(seed: UInt64(channels))
            let x = b.input([1, 25, 5, channels])
            b.output(b.averagePool(x, PoolOptions(filterH: 25, filterW: 5, activation: .relu6)))
            for (config, records, folded) in runs {
                let plan = try ControlPlan(program: try Mapper.compile(b.net, config: config, options: .externalOnly))
                let at = "\(channels) channels at B=\(config.streamBytes)"
                XCTAssertEqual(plan.records.count, records, at)
                XCTAssertTrue(plan.records.allSatisfy { ($0.mode == .folded) == folded && $0.fillValue == 0 && $0.outZeroPoint == 0 }, at)
            }
            try assertRecordsMatch(b.net, "global average pool 25×5×\(channels) with ReLU6", configs: Self.configs + [wide])
        }
    }

    /// MEAN runs as folded passes whose rows are the output's channel slices and whose beats are
    /// input positions, nine per pass (one tap lane a beat, where a beat could fill several: t = 4 at
    /// PC = 4 and 16-byte beats and at PC = 16 and 64-byte ones): 7×7×40 at PC = PF = 16 is 2 slices
    /// of 16 and one of 8, each ceil(49 / 9) = 6 passes; at PC = PF = 4 10 slices in one run of 6.
    func testMeanSumsEverySliceInOnePassPerPositionsOfAnEngineBeat() throws {
        var m = NetBuilder(seed: 9)
        let z = m.input([1, 7, 7, 40])
        m.output(m.mean(z))
        var wide = AcceleratorConfig(); wide.streamBytes = 64
        for (config, records, rows) in [(AcceleratorConfig(), 12, [2, 1]), (Self.configs[1], 6, [10]), (wide, 12, [2, 1])] {
            let plan = try ControlPlan(program: try Mapper.compile(m.net, config: config, options: .externalOnly))
            XCTAssertEqual(plan.records.count, records, "PC=\(config.pc) B=\(config.streamBytes)")
            XCTAssertTrue(plan.records.allSatisfy { $0.mode == .folded && $0.regionCols <= 9 && $0.oneTapPerBeat == (config.foldTaps > 1) })
            XCTAssertEqual(Array(Set(plan.records.map(\.regionRows))).sorted(by: >), rows)
            // Every pass sums with the same ones set: the first loads it, the others keep it.
            XCTAssertGreaterThan(plan.records[0].weightBeats, 0)
            XCTAssertEqual(plan.records.dropFirst().map(\.weightBeats), Array(repeating: 0, count: records - 1))
        }
        try assertRecordsMatch(m.net, "mean 7x7x40", configs: Self.configs + [wide])
    }

    /// A conv pass with no weight beats keeps the set the conv pass before it loaded, so it needs
    /// one of its own mode: a first pass without weights is refused by the model, naming the record.
    func testPointwiseLayersOfFewChannelsPackSeveralPositionsIntoABeat() throws {
        var wide = AcceleratorConfig(); wide.streamBytes = 64
        XCTAssertEqual([wide.slotOffsetUnit, wide.slotOffsetChoices], [8, 8])
        // VWW's 8 → 16 shape: four 8-byte positions a beat, slot p at p·8 bytes (offset p units),
        // the four positions' 16 outputs one 64-byte beat: 120 positions in 30 beats.
        var b = NetBuilder(seed: 60)
        b.output(b.conv(b.input([1, 12, 10, 8]), outputs: 16, kernel: (1, 1), stride: 1, padding: .same, activation: .relu))
        let plan = try ControlPlan(program: try Mapper.compile(b.net, config: wide, options: .externalOnly))
        XCTAssertEqual(plan.records.count, 1)
        XCTAssertEqual(plan.records[0].slotOffsets, [0, 1, 2, 3])
        XCTAssertEqual([plan.records[0].inChunk, plan.records[0].outChunk, plan.records[0].outputPositions, plan.records[0].paramRecords], [32, 64, 30, 64])
        // Lanes 0-3 slice 0 of each position; lanes 4 and 5 (slots 0 and 1's second slice) see
        // positions 1 and 2's bytes and get zeros: 6 lanes of 256 bytes.
        XCTAssertEqual(plan.records[0].weightBeats, 6 * 256 / 64)
        try assertRecordsMatch(b.net, "8 → 16, four positions a beat", configs: [wide])
        // 24 channels (a slice and a half) → 32 (two groups): positions of 24 bytes, two to a beat,
        // slots 0, 1 position 0's groups and slots 2, 3 position 1's (24 bytes = 3 units on).
        var b2 = NetBuilder(seed: 61)
        b2.output(b2.conv(b2.input([1, 7, 6, 24]), outputs: 32, kernel: (1, 1), stride: 1, padding: .same, activation: .relu6))
        let plan2 = try ControlPlan(program: try Mapper.compile(b2.net, config: wide, options: .externalOnly))
        XCTAssertEqual(plan2.records.map(\.slotOffsets), [[0, 0, 3, 3]])
        XCTAssertEqual(plan2.records.map(\.outChunk), [64])
        try assertRecordsMatch(b2.net, "24 → 32, two positions of two groups a beat", configs: [wide, Self.configs[1]])
        // Stride 2 positions are not consecutive in memory, and 7 → 16 is not whole units: neither packs.
        var b3 = NetBuilder(seed: 62)
        b3.output(b3.conv(b3.input([1, 8, 8, 8]), outputs: 16, kernel: (1, 1), stride: 2, padding: .same, activation: .none))
        XCTAssertTrue(try ControlPlan(program: try Mapper.compile(b3.net, config: wide, options: .externalOnly)).records.allSatisfy { $0.slotOffsets.isEmpty })
        var b4 = NetBuilder(seed: 63)
        b4.output(b4.conv(b4.input([1, 8, 8, 7]), outputs: 16, kernel: (1, 1), stride: 1, padding: .same, activation: .none))
        XCTAssertTrue(try ControlPlan(program: try Mapper.compile(b4.net, config: wide, options: .externalOnly)).records.allSatisfy { $0.slotOffsets.isEmpty })

        // The model refuses offsets where the engine has none.
        func refused(_ change: (inout ControlRecord) -> Void, _ text: String, line: UInt = #line) throws {
            var records = plan.records
            change(&records[0])
            let model = try ControlModel(config: plan.config, recordStream: try ControlRecord.encodeStream(records))
            var memory = DeviceMemory(external: plan.memory, config: plan.config)
            XCTAssertThrowsError(try model.run(memory: &memory), line: line) { e in XCTAssertTrue("\(e)".contains(text), "\(e)", line: line) }
        }
        try refused({ $0.wide = false }, "slot offsets on a pass that is not wide")
        try refused({ $0.slotOffsets = [0, 1, 2, 8] }, "the engine has 4 slots of 8 starts")
        try refused({ $0.slotOffsets = [0, 1, 2, 3, 1] }, "the engine has 4 slots of 8 starts")
        try refused({ $0.weightBeats = 16 }, "the pointwise set has 1536")
    }

    /// The weight stream (docs/control.md): every set a pass loads, in record order, from
    /// WEIGHT_BASE on, a set that several passes load (a layer's row blocks) once per loading pass;
    /// a pass that keeps its set points at the one it keeps. ControlModel takes the sets from the
    /// stream as the RTL does and refuses records whose sets are out of the stream's order.
    func testTheWeightStreamHoldsEveryLoadedSetInRecordOrder() throws {
        var m = NetBuilder(seed: 71)
        let x = m.input([1, 40, 12, 16])
        let expanded = m.conv(x, outputs: 24, kernel: (1, 1), stride: 1, padding: .same, activation: .relu6)
        let filtered = m.depthwise(expanded, kernel: (3, 3), stride: 1, multiplier: 1, padding: .same)
        m.output(m.mean(m.conv(filtered, outputs: 32, kernel: (3, 3), stride: 1, padding: .same, activation: .none)))
        // At the small configuration (64 positions a pass) the 40×12 layers run as row blocks.
        let plan = try ControlPlan(program: try Mapper.compile(m.net, config: Self.configs[1], options: .externalOnly))
        let b = plan.config.streamBytes
        var at = Int(plan.weightStreamAddress), kept: UInt32?
        for r in plan.records where r.op == .conv {
            if r.weightBeats == 0 {
                XCTAssertEqual(r.weightAddress, kept, "a keeping pass points at the set it keeps")
                continue
            }
            XCTAssertEqual(Int(r.weightAddress), at, "record \(r.sequence): the stream's next set")
            kept = r.weightAddress
            at += r.weightBeats * b
        }
        XCTAssertEqual(at, Int(plan.weightStreamAddress) + plan.weightStreamBeats * b, "WEIGHT_BEATS covers exactly the loaded sets")
        XCTAssertTrue(plan.records.contains { $0.op == .conv && $0.weightBeats == 0 }, "MEAN's passes keep their ones set")
        // The 40-row layers run as row blocks that load the same sets again: the stream repeats them.
        let loads = plan.records.filter { $0.op == .conv && $0.weightBeats > 0 }
        let distinct = Set(loads.map { Array(plan.memory[Int($0.weightAddress) ..< Int($0.weightAddress) + $0.weightBeats * b]) })
        XCTAssertLessThan(distinct.count, loads.count, "a set loaded by several passes is in the stream once per pass")

        // Two loading passes whose sets are swapped: the stream's order is broken.
        var records = plan.records
        let first = records.firstIndex { $0.op == .conv && $0.weightBeats > 0 }!
        let second = records.indices.first { $0 > first && records[$0].op == .conv && records[$0].weightBeats == records[first].weightBeats }!
        (records[first].weightAddress, records[second].weightAddress) = (records[second].weightAddress, records[first].weightAddress)
        let model = try ControlModel(config: plan.config, recordStream: try ControlRecord.encodeStream(records))
        model.weightStream = (plan.weightStreamAddress, plan.weightStreamBeats)
        var memory = DeviceMemory(external: plan.memory, config: plan.config)
        XCTAssertThrowsError(try model.run(memory: &memory)) { e in
            XCTAssertTrue("\(e)".contains("control record \(first)") && "\(e)".contains("the weight stream's next set"), "\(e)")
        }
    }

    func testAPassWithoutWeightBeatsNeedsASetOfItsModeLoadedBefore() throws {
        var m = NetBuilder(seed: 9)
        m.output(m.mean(m.input([1, 7, 7, 40])))
        let plan = try ControlPlan(program: try Mapper.compile(m.net, config: AcceleratorConfig(), options: .externalOnly))
        var records = plan.records
        records[0].weightBeats = 0
        let model = try ControlModel(config: plan.config, recordStream: try ControlRecord.encodeStream(records))
        var memory = DeviceMemory(external: plan.memory, config: plan.config)
        XCTAssertThrowsError(try model.run(memory: &memory)) { e in
            XCTAssertTrue("\(e)".contains("control record 0") && "\(e)".contains("no weight beats"), "\(e)")
        }
    }

    /// What the RTL's residual buffer cannot do, ControlModel refuses, naming the record: keeping a
    /// span nobody read, a stride that is not whole banks, a span beyond the buffer.
    func testResidualSpansTheBufferCannotServeAreRefused() throws {
        var b = NetBuilder(seed: 22)
        let x = b.conv(b.input([1, 6, 5, 8]), outputs: 24, kernel: (1, 1), stride: 1, padding: .same, activation: .relu6)
        b.output(b.add(x, b.conv(x, outputs: 24, kernel: (1, 1), stride: 1, padding: .same, activation: .none)))
        var c = AcceleratorConfig(); c.streamBytes = 64
        let plan = try ControlPlan(program: try Mapper.compile(b.net, config: c, options: .device(c)))
        let first = try XCTUnwrap(plan.records.firstIndex { $0.residualSpan && !$0.residualKept })
        func refused(_ change: (inout ControlRecord) -> Void, _ text: String, line: UInt = #line) throws {
            var records = plan.records
            change(&records[first])
            let model = try ControlModel(config: c, recordStream: try ControlRecord.encodeStream(records))
            var memory = DeviceMemory(external: plan.memory, config: c)
            XCTAssertThrowsError(try model.run(memory: &memory), line: line) { e in
                XCTAssertTrue("\(e)".contains("control record \(first)") && "\(e)".contains(text), "\(e)", line: line)
            }
        }
        try refused({ $0.residualKept = true }, "the residual buffer holds none")
        try refused({ $0.residualOffset += 4 }, "multiples of 8")
        try refused({ $0.residualBeats = 3136 * 16 / 64 + 1 }, "the residual buffer holds 784")
        try refused({ $0.residualBeats = 1 }, "residual positions reach byte")
    }

    func testTheExactAverageMultiplierIsFoundForEveryWindowSize() {
        for count in [1, 2, 4, 6, 9, 10, 16, 25, 49, 64, 125] {
            guard let q = ControlPlan.averageMultiplier(count: count) else { XCTFail("no multiplier for \(count)"); continue }
            let n = Int32(count)
            for sum in (-128 * n) ... (127 * n) {
                // TFLite: rounded half away from zero.
                let want = sum > 0 ? (sum + n / 2) / n : (sum - n / 2) / n
                if FixedPoint.requantize(acc: sum, multiplier: q.multiplier, shift: q.shift, outputZeroPoint: 0, min: -128, max: 127) != Int8(want) {
                    XCTFail("count \(count): sum \(sum)"); break
                }
            }
        }
    }

    /// TFLite divides each output of a SAME average pool by the number of its window's taps inside
    /// the image, rowsIn(oy) × colsIn(ox). The records sum the window with fill 0 outside the image
    /// and give every block of outputs with one count its own parameter block, so the ControlModel's
    /// result equals the Executor's and the Reference interpreter's (`assertRecordsMatch`), and the
    /// plan holds exactly one parameter block, with that count's exact multiplier, per distinct count.
    func testSameAveragePoolsDivideEachOutputByTheTapsOfItsWindowInsideTheImage() throws {
        for (s, o) in [([1, 9, 7, 6], PoolOptions(filterH: 3, filterW: 3, strideH: 1, strideW: 1, padding: .same)),
                       ([1, 12, 10, 7], PoolOptions(filterH: 3, filterW: 3, strideH: 2, strideW: 2, padding: .same)),
                       ([1, 11, 9, 5], PoolOptions(filterH: 3, filterW: 3, strideH: 2, strideW: 2, padding: .same)),
                       ([1, 9, 11, 5], PoolOptions(filterH: 2, filterW: 2, strideH: 2, strideW: 2, padding: .same)),
                       ([1, 8, 10, 6], PoolOptions(filterH: 2, filterW: 2, strideH: 2, strideW: 2, padding: .same)),
                       ([1, 7, 6, 9], PoolOptions(filterH: 5, filterW: 5, strideH: 1, strideW: 1, padding: .same))] {
            var b = NetBuilder(seed: 5)
            let x = b.input(s)
            b.output(b.averagePool(x, o))
            let what = "SAME avgpool \(o.filterH)x\(o.filterW)/\(o.strideH) on \(s)"
            try assertRecordsMatch(b.net, what)

            // The counts TFLite divides by, from the Reference's geometry.
            let p = PoolParameters(inputHeight: s[1], inputWidth: s[2], channels: s[3], filterHeight: o.filterH, filterWidth: o.filterW,
                                   strideH: o.strideH, strideW: o.strideW, padding: .same)
            func inImage(_ o: Int, stride: Int, pad: Int, kernel: Int, size: Int) -> Int {
                (0 ..< kernel).filter { (0 ..< size).contains(o * stride - pad + $0) }.count
            }
            var counts = Set<Int>()
            for oy in 0 ..< p.outputHeight {
                for ox in 0 ..< p.outputWidth {
                    counts.insert(inImage(oy, stride: p.strideH, pad: p.padTop, kernel: p.filterHeight, size: p.inputHeight) *
                                  inImage(ox, stride: p.strideW, pad: p.padLeft, kernel: p.filterWidth, size: p.inputWidth))
                }
            }
            let multipliers = Set(try counts.map { c -> Int32 in try XCTUnwrap(ControlPlan.averageMultiplier(count: c)?.multiplier, "count \(c)") })
            for c in Self.configs {
                let plan = try ControlPlan(program: try Mapper.compile(b.net, config: c, options: .externalOnly))
                let blocks = Set(plan.records.filter { $0.loadParams }.map { Int($0.parameterAddress) })
                let read = Set(blocks.map { a in Int32(bitPattern: plan.memory[a + 4 ..< a + 8].reversed().reduce(0) { $0 << 8 | UInt32($1) }) })
                XCTAssertEqual(blocks.count, counts.count, "parameter blocks, \(what) at PC=\(c.pc): counts \(counts.sorted())")
                XCTAssertEqual(read, multipliers, "multipliers, \(what) at PC=\(c.pc): counts \(counts.sorted())")
            }
        }
    }

    func testPoolsWithStridesBeyondTwoAreOneLineErrors() throws {
        var c = NetBuilder(seed: 6)
        let y = c.input([1, 8, 8, 3])
        c.output(c.averagePool(y, PoolOptions(filterH: 2, filterW: 2, strideH: 3, strideW: 3, padding: .valid)))
        let strided = try Mapper.compile(c.net, config: AcceleratorConfig(), options: .externalOnly)
        XCTAssertThrowsError(try ControlPlan(program: strided)) { e in
            XCTAssertEqual("\(e)", "layer 0 (AVERAGE_POOL_2D): stride 3x3 does not decompose into the reshape unit's 3×3 windows (strides 1 and 2)")
        }
    }

    func testResidualAddFusedIntoTheConvolutionAndStandalone() throws {
        var c = NetBuilder(seed: 13)
        let y = c.input([1, 9, 7, 16])
        let q = c.conv(y, outputs: 16, kernel: (3, 3), stride: 1, padding: .same, activation: .none)
        c.output(c.add(q, y))
        try assertRecordsMatch(c.net, "fused shortcut (result first)")
        var s = NetBuilder(seed: 14)
        let z = s.input([1, 6, 6, 11])
        let u = s.conv(z, outputs: 11, kernel: (1, 1), stride: 1, padding: .same, activation: .none)
        let v = s.add(z, u)
        s.output(s.add(v, u))
        try assertRecordsMatch(s.net, "standalone ADD")
    }

    func testMobileNetV2BottlenecksWithStrideOneAndTwo() throws {
        var b = NetBuilder(seed: 12)
        let x = b.input([1, 14, 12, 16])
        let e = b.conv(x, outputs: 48, kernel: (1, 1), stride: 1, padding: .same, activation: .relu6)
        let d = b.depthwise(e, kernel: (3, 3), stride: 1, multiplier: 1, padding: .same)
        let p = b.conv(d, outputs: 16, kernel: (1, 1), stride: 1, padding: .same, activation: .none)
        b.output(b.add(x, p))
        try assertRecordsMatch(b.net, "bottleneck stride 1 with fused shortcut (result second)")
        var t = NetBuilder(seed: 15)
        let x2 = t.input([1, 15, 16, 8])
        let e2 = t.conv(x2, outputs: 24, kernel: (1, 1), stride: 1, padding: .same, activation: .relu6)
        let d2 = t.depthwise(e2, kernel: (3, 3), stride: 2, multiplier: 1, padding: .same)
        t.output(t.conv(d2, outputs: 12, kernel: (1, 1), stride: 1, padding: .same, activation: .none))
        try assertRecordsMatch(t.net, "bottleneck stride 2")
    }

    /// Residual spans (docs/control.md, `residualSpan`): a fused ADD whose shortcut is on chip reads
    /// it as whole pixels, B bytes a beat, once for all filter groups of the same positions (the
    /// other groups' passes keep it), instead of one beat per position and group; the results still
    /// equal the Reference's.
    func testOnChipShortcutsAreReadAsWholePixelsOnceForEveryFilterGroup() throws {
        var b = NetBuilder(seed: 21)
        // The block input comes from a layer before it, so it lives on chip (in RAM-S, for the shortcut).
        let x = b.conv(b.input([1, 12, 10, 8]), outputs: 24, kernel: (1, 1), stride: 1, padding: .same, activation: .relu6)
        let e = b.conv(x, outputs: 72, kernel: (1, 1), stride: 1, padding: .same, activation: .relu6)
        let d = b.depthwise(e, kernel: (3, 3), stride: 1, multiplier: 1, padding: .same)
        let p = b.conv(d, outputs: 24, kernel: (1, 1), stride: 1, padding: .same, activation: .none)
        b.output(b.add(x, p))
        var paper = AcceleratorConfig(); paper.streamBytes = 128; paper.ramSBytes = 16 * 1024; paper.ramMBytes = 64 * 1024
        // The small configuration's residual buffer (outputBufferDepth · lanes bytes) holds a pass's
        // 24-byte pixels only when it is deeper than the usual 64 positions.
        var small = ControlPlanTests.configs[1]; small.streamBytes = 32; small.outputBufferDepth = 1024
        small.ramSBytes = 16 * 1024; small.ramMBytes = 64 * 1024
        try assertRecordsMatch(b.net, "bottleneck with a 24-channel shortcut on chip", configs: [paper, small], onChip: true)
        for c in [paper, small] {
            let plan = try ControlPlan(program: try Mapper.compile(b.net, config: c, options: .device(c)))
            let adds = plan.records.filter { $0.residual && $0.last }
            XCTAssertFalse(adds.isEmpty)
            XCTAssertTrue(adds.allSatisfy(\.residualSpan), "every ADD pass reads a span at PC=\(c.pc)")
            // 24 channels are 2 filter groups at PF = 16 and 6 at PF = 4: one reads, the others keep.
            let groups = (24 + c.pf - 1) / c.pf
            XCTAssertEqual(adds.filter(\.residualKept).count, adds.count / groups * (groups - 1), "PC=\(c.pc)")
            for r in adds {
                XCTAssertEqual(r.residualBeats, (r.outputPositions * 24 + c.streamBytes - 1) / c.streamBytes)
                XCTAssertEqual(r.residualOffset % c.pf, 0, "a filter group's bytes start on its group")
            }
            let perPosition = adds.reduce(0) { $0 + $1.outputPositions }
            let spans = adds.compactMap { $0.residualPhase(streamBytes: c.streamBytes)?.beats }.reduce(0, +)
            XCTAssertEqual(spans, adds.filter { !$0.residualKept }.reduce(0) { $0 + $1.residualBeats })
            XCTAssertLessThan(spans * 4, perPosition, "PC=\(c.pc): \(spans) span beats against \(perPosition) per position")
        }
        // Without on-chip memory the shortcut is read per position (a span's last beat may run past
        // the tensor, which only the on-chip window is known to hold).
        var none = paper; none.ramSBytes = 0; none.ramMBytes = 0
        let external = try ControlPlan(program: try Mapper.compile(b.net, config: none, options: .device(none)))
        XCTAssertFalse(external.records.contains(where: \.residualSpan))
    }

    func testExplicitPadFusedIntoTheConvolutionOrRunAlone() throws {
        var b = NetBuilder(seed: 21)
        let x = b.input([1, 10, 12, 4])
        let p = b.pad(x, top: 1, bottom: 1, left: 1, right: 1)
        b.output(b.conv(p, outputs: 6, kernel: (3, 3), stride: 2, padding: .valid, activation: .relu))
        try assertRecordsMatch(b.net, "PAD + VALID conv (fused)")
        var c = NetBuilder(seed: 22)
        let y = c.input([1, 6, 5, 19])
        c.output(c.pad(y, top: 2, bottom: 0, left: 1, right: 3))
        try assertRecordsMatch(c.net, "PAD alone")
    }

    /// A 3×3 stride-2 convolution of C ≤ PC / 4 channels runs on the space-to-depth image: two copy
    /// passes of 2·C-byte pixel pairs (even rows, odd rows) build it, then the convolution is a 3×3
    /// stride-1 one over ceil(H/2) × W/2 pixels of 4·C channels: a quarter of the pixel beats. SAME
    /// with an even height (no top pad) and an odd one (a top pad), a fused PAD of 1 before (the
    /// MobileNetV2 form), a depthwise with multiplier, and a column-tiled layer all match the
    /// Reference; an odd width, or C > PC / 4, keeps the direct passes.
    func testFewChannelStrideTwoConvolutionsRunOnTheSpaceToDepthImage() throws {
        var narrow = AcceleratorConfig(); narrow.maxRowWidth = 12
        var nets: [(String, Network, Bool)] = []
        for (shape, padded) in [([1, 16, 20, 3], false), ([1, 15, 12, 4], false), ([1, 14, 22, 2], true), ([1, 9, 10, 3], false), ([1, 10, 9, 3], false), ([1, 8, 8, 5], false)] {
            var b = NetBuilder(seed: UInt64(shape[1] * 7 + shape[3]))
            let x = b.input(shape)
            let y = padded ? b.pad(x, top: 1, bottom: 0, left: 1, right: 0) : x
            b.output(b.conv(y, outputs: 20, kernel: (3, 3), stride: 2, padding: padded ? .valid : .same, activation: .relu6))
            nets.append(("conv 3x3/2 on \(shape)\(padded ? " after PAD (1, 0, 1, 0)" : "")", b.net, shape[2] % 2 == 0 && shape[3] <= 4))
        }
        var d = NetBuilder(seed: 61)
        d.output(d.depthwise(d.input([1, 12, 14, 1]), kernel: (3, 3), stride: 2, multiplier: 8, padding: .same))
        nets.append(("depthwise 3x3/2 multiplier 8", d.net, true))
        for (what, net, s2d) in nets {
            for config in [AcceleratorConfig(), narrow] {
                let plan = try ControlPlan(program: try Mapper.compile(net, config: config, options: .externalOnly))
                let copies = plan.records.filter { $0.op == .copy }
                XCTAssertEqual(!copies.isEmpty, s2d, "\(what) at maxRow \(config.maxRowWidth)")
                if s2d {
                    XCTAssertTrue(copies.allSatisfy { $0.inChunk == 2 * net.tensors[net.inputs[0]].shape[3] }, what)
                    XCTAssertTrue(plan.records.filter { $0.op == .conv }.allSatisfy { !$0.stride2 }, "\(what): the s2d convolution has stride 1")
                }
            }
            try assertRecordsMatch(net, what, configs: Self.configs + [narrow])
        }
        // With wide passes (B = 64, S = 4, K = 2) the engine builds the s2d image instead of copies
        // where that is faster: a position is g = 5 s2d pixels of 3 channels, 30 bytes of input row
        // 2Y + dy in, 60 bytes out, the two rows' passes one group. 40×50×3 is a 20×25 s2d image,
        // 5 positions a row; on the small images above copies stay (their passes are too short).
        var wide = AcceleratorConfig(); wide.streamBytes = 64
        var b = NetBuilder(seed: 62)
        b.output(b.conv(b.input([1, 40, 50, 3]), outputs: 20, kernel: (3, 3), stride: 2, padding: .same, activation: .relu6))
        let plan = try ControlPlan(program: try Mapper.compile(b.net, config: wide, options: .externalOnly))
        let image = plan.records.filter { $0.mode == .pointwise }
        XCTAssertTrue(plan.records.allSatisfy { $0.op == .conv && !$0.stride2 }, "no copies, and the convolution has stride 1")
        XCTAssertTrue(image.allSatisfy(\.wide))
        XCTAssertEqual(image.map(\.inChunk), [30, 30])
        XCTAssertEqual(image.map(\.outChunk), [60, 60])
        XCTAssertEqual(image.map(\.outputPositions), [100, 100])
        XCTAssertEqual(image.map(\.inputAddress), [plan.inputAddress, plan.inputAddress + 150], "pass dy reads input row 2Y + dy")
        try assertRecordsMatch(b.net, "conv 3x3/2 on 40×50×3, s2d image by the engine", configs: [wide, Self.configs[1]])
        for (what, net, _) in nets { try assertRecordsMatch(net, "\(what), wide passes", configs: [wide]) }
    }

    /// Scratch images a layer writes whole before it reads them (a stride-2 stem's space-to-depth
    /// image, a 10×4 layer's im2col image) go where the layer leaves room on chip, so neither the
    /// writes nor the reads move external bytes; without room (a 4 KiB RAM-M) they stay in the
    /// memory image. The on-chip memory is filled with garbage before the run, as a second frame
    /// finds it, and the result is still the Reference's: no scratch byte is read unwritten.
    func testScratchImagesGoOnChipWhereTheLayerLeavesRoom() throws {
        var stem = NetBuilder(seed: 41)
        let s = stem.conv(stem.input([1, 32, 30, 3]), outputs: 16, kernel: (3, 3), stride: 2, padding: .same, activation: .relu6)
        stem.output(stem.conv(stem.depthwise(s, kernel: (3, 3), stride: 1, multiplier: 1, padding: .same),
                              outputs: 8, kernel: (1, 1), stride: 1, padding: .same, activation: .none))
        var kws = NetBuilder(seed: 42)
        let k = kws.conv(kws.input([1, 25, 10, 1]), outputs: 16, kernel: (10, 4), stride: 2, padding: .same, activation: .relu)
        kws.output(kws.conv(k, outputs: 8, kernel: (1, 1), stride: 1, padding: .same, activation: .none))
        var roomy = AcceleratorConfig(); roomy.streamBytes = 64
        var cramped = roomy; cramped.ramSBytes = 0; cramped.ramMBytes = 4096
        for (what, net) in [("stem on its s2d image", stem.net), ("10×4 layer on its im2col image", kws.net)] {
            for config in [roomy, cramped] {
                let label = "\(what), \(config.ramMBytes)-byte RAM-M"
                let plan = try ControlPlan(program: try Mapper.compile(net, config: config, options: .device(config)))
                // The first layer's convolution passes that do not read the network input read its
                // scratch image.
                let input = plan.inputAddress ..< plan.inputAddress + UInt32(plan.inputLength)
                let image = plan.records[plan.checks[0].firstRecord ... plan.checks[0].lastRecord].filter { $0.op == .conv && !input.contains($0.inputAddress) }
                XCTAssertFalse(image.isEmpty, "\(label): the layer no longer runs on a scratch image")
                XCTAssertEqual(Set(image.map { DeviceMemory.isOnChip($0.inputAddress) }), [config == roomy], label)
                if config == roomy, what.hasPrefix("stem") {
                    // RAM-M from 0 holds the stem's 15×16×16 result and its 576 bytes of read
                    // slack while the stem runs: the s2d image starts at the next 64-byte beat.
                    XCTAssertEqual(Set(image.map(\.inputAddress)), [AcceleratorConfig.onChipBase + UInt32(config.ramSBytes) + 4416], label)
                }
                var rng = SeededRandom(seed: 5)
                let values = (0 ..< plan.inputLength).map { _ in Int8(truncatingIfNeeded: Int(rng.next() % 256) - 128) }
                var memory = DeviceMemory(external: plan.memory, config: config)
                memory.onChip = (0 ..< memory.onChip.count).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
                for (n, v) in values.enumerated() { memory[Int(plan.inputAddress) + n] = UInt8(bitPattern: v) }
                try ControlModel(plan: plan).run(memory: &memory)
                XCTAssertEqual(memory.bytes(plan.deviceOutputAddress, plan.deviceOutputLength).map { Int8(bitPattern: $0) },
                               try net.run(input: values), "\(label): against the Reference, on-chip memory not cleared")
            }
        }
    }

    /// Where a layer's weights use one 2×2 of the window's taps (a stride-2 convolution on its
    /// space-to-depth image: the bottom-right 2×2 when it pads nothing before, the top-left after a
    /// PAD of one), filter groups go in pairs, one split-window pass computing both: MobileNetV2's
    /// first layer (32 filters at PF = 16) streams its s2d image once instead of twice. An odd last
    /// group runs alone. Checked against the Reference at B = 64 (PC = PF = 16, S = 4) and at
    /// PC = PF = 4, B = 32 with row blocks.
    func testSplitWindowsComputeTwoFilterGroupsPerWindowWhereTheWeightsUseOneTwoByTwoOfTaps() throws {
        var wide = AcceleratorConfig(); wide.streamBytes = 64
        var small = AcceleratorConfig(); small.pc = 4; small.pf = 4; small.pd = 4; small.streamBytes = 32; small.maxRowWidth = 32; small.outputBufferDepth = 64
        for (config, channels, outputs, groups) in [(wide, 3, 32, [2]), (wide, 3, 40, [2, 1]), (small, 1, 8, [2]), (small, 1, 12, [2, 1])] {
            for padded in [false, true] {
                var b = NetBuilder(seed: UInt64(outputs + channels))
                let x = b.input([1, 40, 50, channels])
                let y = padded ? b.pad(x, top: 1, bottom: 0, left: 1, right: 0) : x
                b.output(b.conv(y, outputs: outputs, kernel: (3, 3), stride: 2, padding: padded ? .valid : .same, activation: .relu6))
                let what = "conv 3x3/2 \(channels) → \(outputs)\(padded ? " after PAD (1, 0, 1, 0)" : "") at PC=\(config.pc) B=\(config.streamBytes)"
                let plan = try ControlPlan(program: try Mapper.compile(b.net, config: config, options: .externalOnly))
                let windows = plan.records.filter { $0.op == .conv && $0.mode == .standard }
                XCTAssertFalse(windows.isEmpty, what)
                // Per row block: one pass per pair (2·PF bytes a position, two parameter groups),
                // then the odd group's.
                let firsts = windows.filter(\.first).map { $0.wide ? 2 : 1 }
                XCTAssertEqual(firsts, Array([[Int]](repeating: groups, count: firsts.count / groups.count).joined()), what)
                for r in windows where r.wide {
                    XCTAssertEqual(r.outChunk, 2 * config.pf, what)
                    if r.loadParams { XCTAssertEqual(r.paramRecords, 2 * config.pf, what) }
                }
                if padded {
                    // The top-left 2×2 moves to taps 4, 5, 7, 8: the windows start a row and a column
                    // further out, in fill beats.
                    XCTAssertEqual(windows[0].regionRow0, -2, what)
                    XCTAssertEqual(windows[0].regionCol0, -2, what)
                }
                try assertRecordsMatch(b.net, what, configs: [config])
            }
        }
    }

    func testTransposeReshapeAndHostSoftmax() throws {
        var b = NetBuilder(seed: 31)
        let x = b.input([1, 3, 8, 9])
        let t = b.transpose(x, [0, 2, 3, 1])
        let c = b.conv(t, outputs: 4, kernel: (3, 3), stride: 1, padding: .same, activation: .none)
        let r = b.reshape(c, [1, 288])
        let f = b.fullyConnected(r, outputs: 10, perChannel: false)
        b.output(b.softmax(f))
        try assertRecordsMatch(b.net, "transpose, conv, reshape, fc, softmax")
    }

    /// NCHW → NHWC with few channels runs on the engine: g = min(PC, PF / C) consecutive pixels of a
    /// plane are one pointwise position, pass c reads plane c, and the group writes g pixels of C
    /// channels as one beat. At PC = PF = 16: C = 3 → 5 pixels per position, a 7×9 plane = 12 whole
    /// positions (3 passes) and a 3-pixel rest (3 passes); C = 8 → 2 pixels, 32 positions, rest 0
    /// of 8×8. Where g would be 1 (PC = PF = 4, C = 3) or the output's inner dimension is not the
    /// planes' (NHWC → NCHW), the one-byte copies stay. Any other permutation stays copies too.
    func testChannelsFirstInputsAreTransposedByTheEngineFivePixelsPerBeat() throws {
        for (shape, perm, wantPasses) in [([1, 3, 7, 9], [0, 2, 3, 1], 6), ([1, 8, 8, 8], [0, 2, 3, 1], 8), ([2, 3, 4, 5], [0, 2, 3, 1], 6),
                                          ([1, 7, 5, 3], [0, 3, 1, 2], nil), ([1, 3, 7, 9], [0, 1, 3, 2], nil)] {
            var b = NetBuilder(seed: UInt64(shape[1] * 10 + perm[1]))
            let x = b.input(shape)
            b.output(b.transpose(x, perm))
            let plan = try ControlPlan(program: try Mapper.compile(b.net, config: AcceleratorConfig(), options: .externalOnly))
            let label = "transpose \(shape) by \(perm)"
            if let wantPasses {
                XCTAssertEqual(plan.records.count, wantPasses, label)
                XCTAssertTrue(plan.records.allSatisfy { $0.op == .conv && $0.mode == .pointwise && $0.inChunk >= 2 }, label)
                XCTAssertEqual(plan.records.first?.outChunk, 16 / shape[1] * shape[1], label)
            } else {
                XCTAssertTrue(plan.records.allSatisfy { $0.op == .copy && $0.inChunk == 1 }, label)
            }
            try assertRecordsMatch(b.net, label)
        }
        // With wide passes (B = 64, S = 4, K = 2) a position is up to K·PC = 32 plane elements whose
        // channels fit S·PF = 64 lanes: 21 pixels of 63 bytes (four filter groups). An 8 × 9 plane
        // is 3 positions of 21 pixels and one of 9 (27 bytes, two groups).
        var wide = AcceleratorConfig(); wide.streamBytes = 64
        var b = NetBuilder(seed: 31)
        b.output(b.transpose(b.input([1, 3, 8, 9]), [0, 2, 3, 1]))
        let plan = try ControlPlan(program: try Mapper.compile(b.net, config: wide, options: .externalOnly))
        XCTAssertEqual(plan.records.map(\.inChunk), [21, 21, 21, 9, 9, 9])
        XCTAssertEqual(plan.records.map(\.outChunk), [63, 63, 63, 27, 27, 27])
        XCTAssertEqual(plan.records.map(\.outputPositions), [3, 3, 3, 1, 1, 1])
        XCTAssertTrue(plan.records.allSatisfy(\.wide))
        XCTAssertEqual(plan.records.filter(\.loadParams).map(\.paramRecords), [64, 32])
        try assertRecordsMatch(b.net, "transpose by the engine, wide", configs: [wide, Self.configs[1]])
    }

    func testPrunedRecordsMatchThePrunedExecutor() throws {
        // With a pruning threshold the result is no longer TFLite's; the Executor's pruned
        // arithmetic is the specification the records must keep.
        var b = NetBuilder(seed: 41)
        let x = b.input([1, 9, 11, 6])
        let c = b.conv(x, outputs: 10, kernel: (3, 3), stride: 1, padding: .same, activation: .none)
        let d = b.depthwise(c, kernel: (3, 3), stride: 2, multiplier: 1, padding: .same)
        let p = b.conv(d, outputs: 7, kernel: (1, 1), stride: 1, padding: .same, activation: .relu)
        let r = b.reshape(p, [1, b.net.tensors[p].elementCount])
        b.output(b.fullyConnected(r, outputs: 9, perChannel: false, weightZeroPoint: 9, weightRange: 100))
        var rng = SeededRandom(seed: 42)
        let input = (0 ..< 9 * 11 * 6).map { _ in Int8(truncatingIfNeeded: Int(rng.next() % 256) - 128) }
        for config in Self.configs {
            var options = MapperOptions.externalOnly
            options.pruningThreshold = 20
            let program = try Mapper.compile(b.net, config: config, options: options)
            let executed = try Executor(program).run(input: input)
            XCTAssertNotEqual(executed, try b.net.run(input: input), "the threshold must change the result for this test to mean anything")
            let plan = try ControlPlan(program: program)
            let memory = try ControlModel.run(plan, input: input)
            let a = Int(plan.deviceOutputAddress)
            XCTAssertEqual(memory.bytes(UInt32(a), plan.deviceOutputLength).map { Int8(bitPattern: $0) }, executed, "PC=\(config.pc) PF=\(config.pf)")
        }
    }

    func testTheBuiltInNetworks() throws {
        for name in SimulationBundle.builtinNames {
            let (net, _) = try SimulationBundle.builtin(name)
            try assertRecordsMatch(net, name, configs: Array(Self.configs.prefix(2)))
            try assertRecordsMatch(net, name, configs: Array(Self.configs.prefix(2)), onChip: true)
        }
    }

    /// The bottleneck flow (seed 003 section 3.4): with the configuration's RAM-S and RAM-M, the
    /// records reach a block's inner tensors at on-chip addresses (RAM-S from `onChipBase`, RAM-M
    /// after it), and every one of them lies inside the memory its route names. A program allocated
    /// more on-chip memory than the accelerator has is refused, naming the memory.
    func testBottleneckTensorsAreAddressedOnChipWithinTheAcceleratorsRAMSAndRAMM() throws {
        let (net, _) = try SimulationBundle.builtin("mobilenetv2-tiny")
        var config = AcceleratorConfig(); config.ramSBytes = 8 * 1024; config.ramMBytes = 32 * 1024
        let program = try Mapper.compile(net, config: config, options: .device(config))
        let plan = try ControlPlan(program: program)
        let base = AcceleratorConfig.onChipBase, ramM = base + UInt32(config.ramSBytes), end = ramM + UInt32(config.ramMBytes)
        var routed = [Instruction.Route: Int]()
        for i in program.instructions {
            for (route, address) in [(i.inputRoute, i.inputAddress), (i.outputRoute, i.outputAddress)] where route != .external {
                routed[route, default: 0] += 1
                XCTAssertLessThan(Int(address), route == .ramS ? config.ramSBytes : config.ramMBytes, "layer \(i.layer)")
            }
        }
        XCTAssertGreaterThan(routed[.ramM] ?? 0, 0, "some expansion or depthwise result lives in RAM-M")
        XCTAssertGreaterThan(routed[.ramS] ?? 0, 0, "some block input lives in RAM-S for its shortcut")
        let onChipWrites = plan.records.filter { ($0.last || $0.op == .copy) && DeviceMemory.isOnChip($0.outputAddress) }
        XCTAssertFalse(onChipWrites.isEmpty)
        for r in onChipWrites { XCTAssertLessThan(r.outputAddress, end, "layer \(r.layer)") }
        XCTAssertTrue(plan.records.contains { DeviceMemory.isOnChip($0.inputAddress) && $0.inputAddress >= ramM }, "a pass reads RAM-M")

        var none = config; none.ramSBytes = 0; none.ramMBytes = 0
        XCTAssertThrowsError(try ControlPlan(program: try Mapper.compile(net, config: none, options: .device(config)))) { e in
            XCTAssertEqual("\(e)", "the program was allocated a 8192-byte RAM-S; the accelerator's has 0 bytes (compile with MapperOptions.device(config))")
        }
        let external = try ControlPlan(program: try Mapper.compile(net, config: none, options: .device(none)))
        XCTAssertFalse(external.records.contains { DeviceMemory.isOnChip($0.inputAddress) || DeviceMemory.isOnChip($0.outputAddress) })
    }
}

/// The channel chunks of folded passes, as counts.
private enum PlanChunks {
    static func of(_ channels: Int, _ config: AcceleratorConfig) -> [Int] {
        ControlPlan.foldChunks(channels: channels, config: config).map(\.count)
    }
}

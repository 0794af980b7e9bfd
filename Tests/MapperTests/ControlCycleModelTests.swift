import Accelerator
import Mapper
import XCTest

/// ControlCycleModel's arithmetic, derived by hand from its documented rules: a pass that issues its
/// own commands takes latency + the serial input beats (or the memory's bytes, whichever is longer)
/// + the tail; a run's timeline lets later passes' commands go out during the pass before. That the
/// rules are the RTL's is checked against ./Vtop in AcceleratorRTLTests.
final class ControlCycleModelTests: XCTestCase {
    private func conv(_ mode: ControlRecord.Mode, rows: Int, cols: Int, last: Bool) -> ControlRecord {
        var r = ControlRecord()
        r.op = .conv; r.mode = mode; r.last = last
        r.regionRows = rows; r.regionCols = cols; r.imageRows = rows; r.imageCols = cols
        r.inChunk = 16; r.outChunk = 16; r.weightBeats = 9
        r.outputRows = rows; r.outputCols = cols
        return r
    }

    func testAnIntermediatePassIsLatencyWeightsPositionsAndTheTail() {
        let r = conv(.standard, rows: 5, cols: 7, last: false)
        XCTAssertEqual(ControlCycleModel.cycles(r, config: AcceleratorConfig(), memory: .init(bandwidth: 64, latency: 64)), 64 + 9 + 35 + 16)
    }

    func testTheInsertedBottomRowCostsARowOfCycles() {
        var r = conv(.standard, rows: 5, cols: 7, last: false)
        r.padBottom = 1
        XCTAssertEqual(ControlCycleModel.cycles(r, config: AcceleratorConfig(), memory: .init(bandwidth: 64, latency: 64)), 64 + 9 + 35 + 7 + 12)
    }

    func testFillBeatsCostACycleButNoBytesAndParametersComeFirst() {
        var r = conv(.depthwise, rows: 4, cols: 4, last: true)
        r.imageRows = 2; r.regionRow0 = -2          // the first two rows are fill
        r.outputRows = 2; r.outputCols = 2
        r.loadParams = true; r.paramRecords = 16
        XCTAssertEqual(ControlCycleModel.cycles(r, config: AcceleratorConfig(), memory: .init(bandwidth: 64, latency: 10)), 10 + 16 + 9 + 16 + 41)
        XCTAssertEqual(ControlCycleModel.traffic(r, config: AcceleratorConfig()).read, 128 + 16 * 16 + 9 * 16 + 8 * 16)
    }

    func testAPointwiseLastPassPaysOneCyclePerPositionOfItsLastEngineBeat() {
        let r = conv(.pointwise, rows: 2, cols: 10, last: true)   // 20 positions: the last beat holds 2
        XCTAssertEqual(ControlCycleModel.cycles(r, config: AcceleratorConfig(), memory: .init(bandwidth: 64, latency: 64)), 64 + 9 + 20 + 39 + 1)
    }

    /// A bandwidth-bound last pass writes its last results during its tail: 5/8 of the tail of a
    /// stride-1 pass, 2/8 of a stride-2 one (its last output row is a quarter of its last input
    /// row). 14×14 pixels of 64 bytes, 49 results of 64 bytes, 9 weight beats at B = 64 and 64
    /// bytes per cycle: (9 + 196 + 49) cycles of bytes, less 41·5/8 = 25.625 → 229, or less
    /// 41·2/8 = 10.25 → 244, then the tail of 41.
    func testAStrideTwoPassOverlapsLessOfItsTailWithWrites() {
        var c = AcceleratorConfig(); c.streamBytes = 64
        var r = conv(.depthwise, rows: 14, cols: 14, last: true)
        r.inChunk = 64; r.outChunk = 64; r.outputRows = 7; r.outputCols = 7
        XCTAssertEqual(ControlCycleModel.cycles(r, config: c, memory: .init(bandwidth: 64, latency: 0)), 229 + 41)
        r.stride2 = true
        XCTAssertEqual(ControlCycleModel.cycles(r, config: c, memory: .init(bandwidth: 64, latency: 0)), 244 + 41)
    }

    func testANarrowMemoryMakesBeatsWiderThanItsBandwidthSlower() {
        // 35 pixels of 16 bytes and 9 weight beats of 16 bytes at 4 bytes per cycle: 4 cycles each.
        let r = conv(.standard, rows: 5, cols: 7, last: false)
        XCTAssertEqual(ControlCycleModel.cycles(r, config: AcceleratorConfig(), memory: .init(bandwidth: 4, latency: 0)), 4 * (9 + 35) + 16)
    }

    /// Four passes of 9 weight beats and 35 pixels (44 cycles of input, tail 16 across a checked
    /// switch of 4 cycles), 16-byte beats (8 per record), latency 64. Pass 0 starts after its record
    /// (64 + 8 + 2 = 74) and waits for its own commands: data 140 ... 184; records 1 and 2 are
    /// fetched at 80 and 82 and land behind its data, at 192 and 200. Pass 0 ends at max(184 + 16 −
    /// 2 − 4, 192 + 1) = 194, too soon after record 1 (192) to have clipped it, so pass 1 starts 4
    /// cycles later, at 198, too soon for its commands (192 + 6 = 198): it waits a latency too, data
    /// 264 ... 308, and record 3, fetched at 204, lands at 316. Pass 1 ends at 318, long after record
    /// 2 arrived, so pass 2 starts at 319; its commands went out at max(198 + 7, 200 + 6) = 206, its
    /// data waits only for record 3 to pass: 320 ... 364, end 374, start 375. Pass 3's commands went
    /// out at 375 − 56 + 7 = 326, so it waits until 390: 390 ... 434, and the run ends at 444 + 1.
    func testLaterPassesFindTheirDataAlreadyRequested() {
        let r = conv(.standard, rows: 5, cols: 7, last: false)
        XCTAssertEqual(ControlCycleModel.timeline([r, r, r, r], config: AcceleratorConfig(), memory: .init(bandwidth: 64, latency: 64)),
                       [198, 121, 56, 70])
    }
}

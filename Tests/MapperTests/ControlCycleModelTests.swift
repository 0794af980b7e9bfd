import Accelerator
import Mapper
import XCTest

/// ControlCycleModel's arithmetic on single records, derived by hand from its documented rule:
/// latency + the serial input beats (or the memory's bytes, whichever is longer) + the tail. That
/// the rule is the RTL's is checked against ./Vtop in AcceleratorRTLTests.
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

    func testANarrowMemoryMakesBeatsWiderThanItsBandwidthSlower() {
        // 35 pixels of 16 bytes and 9 weight beats of 16 bytes at 4 bytes per cycle: 4 cycles each.
        let r = conv(.standard, rows: 5, cols: 7, last: false)
        XCTAssertEqual(ControlCycleModel.cycles(r, config: AcceleratorConfig(), memory: .init(bandwidth: 4, latency: 0)), 4 * (9 + 35) + 16)
    }
}

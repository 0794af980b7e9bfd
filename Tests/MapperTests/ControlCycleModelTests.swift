import Accelerator
import Mapper
import XCTest

/// ControlCycleModel's arithmetic, derived by hand from its documented rules: a pass that issues its
/// own commands takes latency + the serial input beats on the data port (or the memory's bytes,
/// whichever is longer), unless its weight set (loaded beside them on the weight stream, then 3
/// cycles to swap it in) holds its pixels back longer, + the tail; a run's timeline lets later
/// passes' commands go out during the pass before, and a pass's set load once the set before it is
/// active. That the rules are the RTL's is checked against ./Vtop in AcceleratorRTLTests.
final class ControlCycleModelTests: XCTestCase {
    private func conv(_ mode: ControlRecord.Mode, rows: Int, cols: Int, last: Bool) -> ControlRecord {
        var r = ControlRecord()
        r.op = .conv; r.mode = mode; r.last = last
        r.regionRows = rows; r.regionCols = cols; r.imageRows = rows; r.imageCols = cols
        r.inChunk = 16; r.outChunk = 16; r.weightBeats = 9
        r.outputRows = rows; r.outputCols = cols
        return r
    }

    func testAnIntermediatePassIsLatencyPositionsAndTheTailWithItsWeightsBeside() {
        let r = conv(.standard, rows: 5, cols: 7, last: false)
        XCTAssertEqual(ControlCycleModel.cycles(r, config: AcceleratorConfig(), memory: .init(bandwidth: 64, latency: 64)), 64 + 35 + 15)
    }

    func testTheInsertedBottomRowCostsARowOfCycles() {
        var r = conv(.standard, rows: 5, cols: 7, last: false)
        r.padBottom = 1
        XCTAssertEqual(ControlCycleModel.cycles(r, config: AcceleratorConfig(), memory: .init(bandwidth: 64, latency: 64)), 64 + 35 + 7 + 11)
    }

    func testFillBeatsCostACycleButNoBytesAndParametersComeFirst() {
        var r = conv(.depthwise, rows: 4, cols: 4, last: true)
        r.imageRows = 2; r.regionRow0 = -2          // the first two rows are fill
        r.outputRows = 2; r.outputCols = 2
        r.loadParams = true; r.paramRecords = 16
        // The depthwise tail of 40 less the ADD's 11: a pass without a shortcut goes around it.
        XCTAssertEqual(ControlCycleModel.cycles(r, config: AcceleratorConfig(), memory: .init(bandwidth: 64, latency: 10)), 10 + 16 + 16 + 40 - 11)
        XCTAssertEqual(ControlCycleModel.traffic(r, config: AcceleratorConfig()).read, 128 + 16 * 16 + 9 * 16 + 8 * 16)
    }

    func testAPointwiseLastPassPaysOneCyclePerPositionOfItsLastEngineBeat() {
        let r = conv(.pointwise, rows: 2, cols: 10, last: true)   // 20 positions: the last beat holds 2
        XCTAssertEqual(ControlCycleModel.cycles(r, config: AcceleratorConfig(), memory: .init(bandwidth: 64, latency: 64)), 64 + 20 + 38 - 11 + 1)
        // With a fused ADD its results go through the ADD's 11 cycles.
        var added = r; added.residual = true
        XCTAssertEqual(ControlCycleModel.cycles(added, config: AcceleratorConfig(), memory: .init(bandwidth: 64, latency: 64)), 64 + 20 + 20 + 38 + 1)
    }

    /// A bandwidth-bound last pass writes its last results during its tail: 5/8 of the tail of a
    /// stride-1 pass, 2/8 of a stride-2 one (its last output row is a quarter of its last input
    /// row). 14×14 pixels of 64 bytes, 49 results of 64 bytes at B = 64 and 64 bytes per cycle
    /// (the 9 weight beats come on the weight stream, 9 + 3 cycles before the pixels could go):
    /// (196 + 49) cycles of bytes, less 29·5/8 = 18.125 → 227, or less 29·2/8 = 7.25 → 238, then
    /// the tail of 29 (the depthwise tail of 40 less the ADD's 11, which a pass without a shortcut
    /// goes around).
    func testAStrideTwoPassOverlapsLessOfItsTailWithWrites() {
        var c = AcceleratorConfig(); c.streamBytes = 64
        var r = conv(.depthwise, rows: 14, cols: 14, last: true)
        r.inChunk = 64; r.outChunk = 64; r.outputRows = 7; r.outputCols = 7
        XCTAssertEqual(ControlCycleModel.cycles(r, config: c, memory: .init(bandwidth: 64, latency: 0)), 227 + 29)
        r.stride2 = true
        XCTAssertEqual(ControlCycleModel.cycles(r, config: c, memory: .init(bandwidth: 64, latency: 0)), 238 + 29)
    }

    func testANarrowMemoryMakesBeatsWiderThanItsBandwidthSlower() {
        // 35 pixels of 16 bytes and 9 weight beats of 16 bytes at 4 bytes per cycle: 4 cycles each;
        // the pixels wait for the set and its 3 cycles of swapping in.
        let r = conv(.standard, rows: 5, cols: 7, last: false)
        XCTAssertEqual(ControlCycleModel.cycles(r, config: AcceleratorConfig(), memory: .init(bandwidth: 4, latency: 0)), 4 * 9 + 3 + 4 * 35 + 15)
    }

    /// Four passes of 9 weight beats and 35 pixels (35 cycles of input, tail 15 across a checked
    /// switch of 4 cycles), 16-byte beats (8 per record), latency 64. Pass 0 starts after its record
    /// (64 + 8 + 2 = 74) and waits for its own command: data 140 ... 175. The weight stream's first
    /// beat is there at 66; set 0 shares the memory with record 1's 128 bytes (2 cycles): in at 76,
    /// swapped and armed by 80. Records 1 and 2 are fetched at 78 and 80 and land behind pass 0's
    /// data, at 183 and 191. Pass 0 ends at max(175 + 15 − 2 − 4, 183 + 1) = 184, too soon after
    /// record 1 to have clipped it, so pass 1 starts 4 cycles later, at 188, too soon for its
    /// commands (183 + 6 = 189): it waits a latency, data 254 ... 289 (its set loaded at 80 ... 90,
    /// swapped in at its start). Pass 0 never issued pass 1's commands, so record 3's fetch is a
    /// late one of pass 1's, after its command: at 192, landing behind pass 1's data at 297. Pass 1
    /// ends at 298, long after record 2 arrived, so pass 2 starts at 299; its command went out at
    /// max(188 + 7, 191 + 6) = 197, its data waits only for record 3 to pass: 300 ... 335, but its
    /// set, in since 202, is swapped in from its start and arms it at 302, so its pixels end at 337,
    /// end 346, start 347. Pass 3's command went out at 306, so its data comes at 370 ... 405, and
    /// the run ends at 414 + 1.
    func testLaterPassesFindTheirDataAlreadyRequested() {
        let r = conv(.standard, rows: 5, cols: 7, last: false)
        XCTAssertEqual(ControlCycleModel.timeline([r, r, r, r], config: AcceleratorConfig(), memory: .init(bandwidth: 64, latency: 64)),
                       [188, 111, 48, 68])
    }
}

extension ControlCycleModelTests {
    /// Weight-bound passes (MobileNetV2's FC at B = 128: 18 weight beats, 2 on-chip positions, 64
    /// bytes a cycle) follow the weight stream's pace: its beats come a cycle every 2 into the weight
    /// buffer, without a gap between sets, so once the first passes' latency is behind them a pass
    /// takes 18 · 2 = 36 cycles (a cycle more or less where the cycles round). Without the buffer a set's beats
    /// came only once the set before it was active: its last 34 cycles after its first, a cycle to
    /// see it whole, two to latch and swap it, one to take the next set's first beat, 38 a pass.
    func testWeightBoundPassesFollowTheWeightStreamsPace() {
        var c = AcceleratorConfig(); c.pc = 16; c.pf = 16; c.pd = 6; c.streamBytes = 128
        var r = ControlRecord()
        r.op = .conv; r.mode = .folded
        r.regionRows = 1; r.regionCols = 2; r.imageRows = 1; r.imageCols = 2
        r.inChunk = 128; r.outChunk = 16; r.weightBeats = 18
        r.inputAddress = AcceleratorConfig.onChipBase
        let passes = ControlCycleModel.timeline([ControlRecord](repeating: r, count: 24), config: c, memory: .init(bandwidth: 64, latency: 64))
        XCTAssertEqual(passes[8 ..< 20].reduce(0, +), 12 * 18 * 2)
        XCTAssertTrue(passes[8 ..< 20].allSatisfy { abs($0 - 18 * 2) <= 1 }, "\(passes)")
    }
}

extension ControlCycleModelTests {
    /// A depthwise pass of ten on-chip pixels that loads 16 parameter records at B = 64 (4 records
    /// a beat: 4 beats of 64 bytes, 4 cycles each at 16 bytes a cycle): the memory's credit is one
    /// cycle's bytes, so the last parameter beat moves in one cycle when on-chip beats follow it
    /// (3·4 + 1 + 10 pixels) and in its full 4 when the pixels come from the memory too (16 + 10
    /// pixels of 16 bytes, a cycle each); then the intermediate tail of 15.
    func testTheLastParameterBeatTakesACycleWhenOnChipBeatsFollowIt() {
        var c = AcceleratorConfig(); c.streamBytes = 64
        var r = conv(.depthwise, rows: 1, cols: 10, last: false)
        r.weightBeats = 0
        r.loadParams = true; r.paramRecords = 16
        r.inputAddress = AcceleratorConfig.onChipBase
        let memory = ControlCycleModel.Memory(bandwidth: 16, latency: 0)
        XCTAssertEqual(ControlCycleModel.cycles(r, config: c, memory: memory), 3 * 4 + 1 + 10 + 15)
        r.inputAddress = 0
        XCTAssertEqual(ControlCycleModel.cycles(r, config: c, memory: memory), 4 * 4 + 10 + 15)
    }

    /// Runs of depthwise passes of 200 on-chip pixels, each loading its parameter records (B = 256,
    /// 16 records a beat of 4 cycles at 64 bytes a cycle; the weight set kept), with and without
    /// the on-chip memory's read-ahead FIFO. Each pass's commands go out 7 cycles into the pass
    /// before, which runs 200 + 15 cycles, so its parameter beats are all in the FIFO (from 64 cycles
    /// after the command, 4 cycles apart) well before it starts and leave a cycle each: 144 records
    /// (9 beats) take 9 cycles instead of 8·4 + 1 = 33, 24 a pass less. 640 records (40 beats) do
    /// not fit its 16 beats beside the record fetched ahead: 15 are in, the other 25 come at the
    /// memory's pace as it drains, 25·4 + 1 = 101 cycles instead of 39·4 + 1 = 157, 56 a pass less.
    func testTheReadAheadFIFOTakesTheNextPassesParametersWhileAPassStreamsOnChip() {
        var ahead = AcceleratorConfig(); ahead.streamBytes = 256; ahead.pd = 9
        var without = ahead; without.ramSBytes = 0; without.ramMBytes = 0
        let memory = ControlCycleModel.Memory(bandwidth: 64, latency: 64)
        for (records, saved) in [(144, 24), (640, 56)] {
            var r = conv(.depthwise, rows: 10, cols: 20, last: false)
            r.weightBeats = 0
            r.loadParams = true; r.paramRecords = records
            r.inputAddress = AcceleratorConfig.onChipBase
            let run = [ControlRecord](repeating: r, count: 8)
            let fast = ControlCycleModel.timeline(run, config: ahead, memory: memory)
            let slow = ControlCycleModel.timeline(run, config: without, memory: memory)
            XCTAssertEqual(zip(slow, fast).map { $0 - $1 }[2 ..< 7], [Int](repeating: saved, count: 5)[...], "\(records) records")
        }
    }
}

extension ControlCycleModelTests {
    /// Passes of 40 external 16-byte pixels (B = 16, 8 bytes a cycle: 2 cycles a beat) each behind
    /// a pass of 200 on-chip pixels, with and without the read-ahead FIFO (4 KiB: 256 beats). The
    /// external pass's command goes out 7 cycles into the on-chip pass, which keeps the memory free
    /// for 200 cycles, so all 40 of its beats are in the FIFO 64 + 80 cycles later, before it
    /// starts, and leave a cycle each: 40 cycles instead of 80, 40 a pass less. The on-chip passes
    /// gain nothing; nor would 16-byte beats at 16 bytes a cycle, a beat a cycle either way.
    func testTheReadAheadFIFOTakesExternalPixelsWhileTheMemoryIsFree() {
        var ahead = AcceleratorConfig(); ahead.streamBytes = 16
        var without = ahead; without.ramSBytes = 0; without.ramMBytes = 0
        var onChip = conv(.pointwise, rows: 10, cols: 20, last: false)
        onChip.weightBeats = 0
        onChip.inputAddress = AcceleratorConfig.onChipBase
        var external = conv(.pointwise, rows: 4, cols: 10, last: false)
        external.weightBeats = 0
        let run = (0 ..< 5).flatMap { _ in [onChip, external] }
        for (bandwidth, saved) in [(8.0, 40), (16.0, 0)] {
            let memory = ControlCycleModel.Memory(bandwidth: bandwidth, latency: 64)
            let fast = ControlCycleModel.timeline(run, config: ahead, memory: memory)
            let slow = ControlCycleModel.timeline(run, config: without, memory: memory)
            XCTAssertEqual(zip(slow, fast).map { $0 - $1 }[2 ..< 8], [0, saved, 0, saved, 0, saved][...], "\(bandwidth) bytes a cycle")
        }
    }
}

extension ControlCycleModelTests {
    /// The run of testLaterPassesFindTheirDataAlreadyRequested with a last pass 3 that writes and
    /// loads a set of 100 beats (a cycle each at 64 bytes a cycle) instead of 9. Set 3 loads from
    /// 302 (set 2 was swapped in at 301) to 401, so pass 3, which starts at 347 as before, is armed
    /// at 401 + 1 + 3 = 405, 55 cycles late, and its 35 pixels end at 440 instead of 405. Its tail
    /// is the standard pass's 43 less the ADD's 11 it goes around, and 3 less again because it
    /// waited for its set (the tails were measured on passes whose sets were in): 440 + 29 − 2 − 4
    /// = 463, the run's end at 464, 117 cycles. With its 9-beat set it ends at 405 + 32 − 6 + 1.
    func testAWritingPassThatWaitedForItsWeightsEndsThreeCyclesSooner() {
        let r = conv(.standard, rows: 5, cols: 7, last: false)
        var last = conv(.standard, rows: 5, cols: 7, last: true)
        let memory = ControlCycleModel.Memory(bandwidth: 64, latency: 64)
        XCTAssertEqual(ControlCycleModel.timeline([r, r, r, last], config: AcceleratorConfig(), memory: memory), [188, 111, 48, 432 - 347])
        last.weightBeats = 100
        XCTAssertEqual(ControlCycleModel.timeline([r, r, r, last], config: AcceleratorConfig(), memory: memory), [188, 111, 48, 117])
    }
}

extension ControlCycleModelTests {
    /// The data side has the memory first (sim/DataMover.h): the weight stream takes only the bytes
    /// it leaves. Pass 2 streams 200 external 16-byte pixels a cycle each at B = 256 and 64 bytes a
    /// cycle, and pass 3's 9-beat set loads beside them, on the 48 bytes a cycle they leave (2,304
    /// bytes in 48 cycles, inside the 200), so pass 2 takes exactly as long as with pass 3's set
    /// kept. Before, a weight beat took 4 cycles of the shared credit and a 16-byte data beat
    /// waited behind it: pass 2 took 28 cycles more. (No on-chip memory, so nothing is read ahead.)
    func testTheWeightStreamTakesOnlyWhatTheDataLeaves() {
        var c = AcceleratorConfig(); c.streamBytes = 256; c.pd = 9; c.ramSBytes = 0; c.ramMBytes = 0
        var r = conv(.pointwise, rows: 10, cols: 20, last: false)
        r.weightBeats = 9
        var kept = r; kept.weightBeats = 0
        let memory = ControlCycleModel.Memory(bandwidth: 64, latency: 64)
        let loading = ControlCycleModel.timeline([r, r, r, r, r], config: c, memory: memory)
        let alone = ControlCycleModel.timeline([r, r, r, kept, r], config: c, memory: memory)
        XCTAssertEqual(loading[2], alone[2])
    }
}

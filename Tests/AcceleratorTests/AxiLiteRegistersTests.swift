import Accelerator
import Foundation
import HDLKit
import XCTest

/// The register file against a Swift AXI4-Lite master and a model of docs/control.md's register
/// map: random valid/ready timing on all five channels (AW before W, W before AW, both together),
/// random byte strobes, reads of every offset and of unknown ones, start pulses, done set by the
/// control unit and cleared by start and IRQ_ACK, irq.
final class AxiLiteRegistersTests: XCTestCase {
    private static let figureNames = ["records_done", "stall_input", "stall_output", "engine_beats", "prune_active",
                                      "current_layer", "error_record", "layers_done", "layer_done_index", "layer_done_cycles",
                                      "layer_done_stall_input", "layer_done_stall_output", "layer_done_engine_beats",
                                      "onchip_read_beats", "onchip_write_beats", "onchip_raw_stalls"]

    private enum Op {
        case write(address: Int, data: Int, strobe: Int)
        case read(address: Int)
        case runDone
        case figures
    }

    private struct Bench: ControlTestBench {
        var ops: [Op]
        var rng: SplitMix
        let configWord: Int
        /// RAM_S_BYTES and RAM_M_BYTES.
        let ramS: Int, ramM: Int
        var failures: [String] = []
        var cycle = 0
        var opIndex = 0
        var gap = 0
        // The operation in flight.
        var awDelay = 0, wDelay = 0, arDelay = 0
        var awDone = false, wDone = false, arDone = false
        var bReady = false, rReady = false
        var pulse = false
        var expectedRead: Int?
        var responseWaiting = false   // a B or R was valid and not accepted in the previous cycle
        var responseValue = 0
        // Inputs from the control unit's side.
        var busy = 0, error = 0
        var figures: [String: Int] = [:]
        var cycles = 0
        // The model of the register file.
        var recordBase = 0, recordCount = 0, weightBase = 0, weightBeats = 0, irqEnable = false, done = false
        var startsExpected = 0, startsSeen = 0
        var writesAnswered = 0, readsAnswered = 0

        var finished: Bool { opIndex >= ops.count || !failures.isEmpty }

        var current: Op? { gap == 0 && opIndex < ops.count ? ops[opIndex] : nil }

        func inputs() -> [String: Int] {
            var i: [String: Int] = ["s_axil_awvalid": 0, "s_axil_awaddr": 0, "s_axil_wvalid": 0, "s_axil_wdata": 0, "s_axil_wstrb": 0,
                                    "s_axil_bready": bReady ? 1 : 0, "s_axil_arvalid": 0, "s_axil_araddr": 0,
                                    "s_axil_rready": rReady ? 1 : 0, "busy": busy, "error": error, "run_done": 0, "cycles": cycles]
            for n in AxiLiteRegistersTests.figureNames { i[n] = figures[n, default: 0] }
            switch current {
            case .write(let a, let d, let s):
                i["s_axil_awaddr"] = a
                i["s_axil_awvalid"] = !awDone && awDelay == 0 ? 1 : 0
                i["s_axil_wdata"] = d
                i["s_axil_wstrb"] = s
                i["s_axil_wvalid"] = !wDone && wDelay == 0 ? 1 : 0
            case .read(let a):
                i["s_axil_araddr"] = a
                i["s_axil_arvalid"] = !arDone && arDelay == 0 ? 1 : 0
            case .runDone:
                i["run_done"] = 1
            default: break
            }
            return i
        }

        mutating func fail(_ s: String) { failures.append("cycle \(cycle): \(s)") }

        func readValue(_ address: Int, _ i: [String: Int]) -> Int {
            typealias O = AxiLiteRegisters.Offset
            switch address & ~3 {
            case O.id: return AxiLiteRegisters.identification
            case O.config: return configWord
            case O.control: return irqEnable ? 2 : 0
            case O.status: return i["busy"]! | (done ? 2 : 0) | i["error"]! << 2
            case O.recordBase: return recordBase
            case O.recordCount: return recordCount
            case O.recordsDone: return i["records_done"]!
            case O.cyclesLo: return i["cycles"]! & 0xFFFF_FFFF
            case O.cyclesHi: return i["cycles"]! >> 32
            case O.stallInput: return i["stall_input"]!
            case O.stallOutput: return i["stall_output"]!
            case O.engineBeats: return i["engine_beats"]!
            case O.pruneActive: return i["prune_active"]!
            case O.currentLayer: return i["current_layer"]!
            case O.errorRecord: return i["error_record"]!
            case O.layersDone: return i["layers_done"]!
            case O.layerDoneIndex: return i["layer_done_index"]!
            case O.layerDoneCycles: return i["layer_done_cycles"]!
            case O.layerDoneStallInput: return i["layer_done_stall_input"]!
            case O.layerDoneStallOutput: return i["layer_done_stall_output"]!
            case O.layerDoneEngineBeats: return i["layer_done_engine_beats"]!
            case O.onChipReadBeats: return i["onchip_read_beats"]!
            case O.onChipWriteBeats: return i["onchip_write_beats"]!
            case O.onChipRawStalls: return i["onchip_raw_stalls"]!
            case O.ramSBytes: return ramS
            case O.ramMBytes: return ramM
            case O.weightBase: return weightBase
            case O.weightBeats: return weightBeats
            default: return 0
            }
        }

        mutating func applyWrite(_ address: Int, _ data: Int, _ strobe: Int) {
            func merge(_ old: Int) -> Int {
                (0..<4).reduce(0) { acc, b in acc | ((strobe >> b & 1 == 1 ? data : old) & (0xFF << (8 * b))) }
            }
            typealias O = AxiLiteRegisters.Offset
            switch address & ~3 {
            case O.recordBase: recordBase = merge(recordBase)
            case O.recordCount: recordCount = merge(recordCount)
            case O.weightBase: weightBase = merge(weightBase)
            case O.weightBeats: weightBeats = merge(weightBeats)
            case O.control where strobe & 1 == 1:
                irqEnable = data & 2 != 0
                if data & 1 != 0 { startsExpected += 1; done = false }
            case O.irqAck where strobe & 1 == 1 && data & 2 != 0: done = false
            default: break
            }
        }

        mutating func nextOp() {
            opIndex += 1
            gap = rng.below(3)
            awDone = false; wDone = false; arDone = false
            awDelay = rng.below(4); wDelay = rng.below(4); arDelay = rng.below(3)
            expectedRead = nil
        }

        mutating func observe(_ o: [String: Int], _ i: [String: Int]) {
            let bvalid = o["s_axil_bvalid", default: 0] == 1, rvalid = o["s_axil_rvalid", default: 0] == 1
            if o["start", default: 0] == 1 { startsSeen += 1 }
            // A response once offered stays until accepted.
            if responseWaiting && !(bvalid || rvalid) { fail("a B or R response was withdrawn before it was accepted") }
            responseWaiting = false
            if o["s_axil_bresp", default: 0] != 0 || o["s_axil_rresp", default: 0] != 0 { fail("response not OKAY") }
            let writing: Bool
            if case .write = current { writing = true } else { writing = false }
            if !writing && o["irq", default: 0] != ((done && irqEnable) ? 1 : 0) {
                fail("irq is \(o["irq", default: 0]), model done \(done) irq enable \(irqEnable)")
            }
            switch current {
            case .write(let a, let d, let s):
                if i["s_axil_awvalid"] == 1 && o["s_axil_awready"] == 1 { awDone = true }
                if i["s_axil_wvalid"] == 1 && o["s_axil_wready"] == 1 { wDone = true }
                if rvalid { fail("R valid during a write") }
                if bvalid {
                    if !(awDone && wDone) { fail("B before both AW and W were accepted") }
                    if bReady {
                        applyWrite(a, d, s)
                        writesAnswered += 1
                        nextOp()
                    } else { responseWaiting = true }
                }
                if !awDone && awDelay > 0 { awDelay -= 1 }
                if !wDone && wDelay > 0 { wDelay -= 1 }
            case .read(let a):
                if bvalid { fail("B valid during a read") }
                if i["s_axil_arvalid"] == 1 && o["s_axil_arready"] == 1 {
                    if arDone { fail("second AR handshake") }
                    arDone = true
                    expectedRead = readValue(a, i)
                } else if rvalid {
                    if let e = expectedRead {
                        if o["s_axil_rdata"] != e { fail(String(format: "read 0x%03x gave 0x%08x, expected 0x%08x", a, o["s_axil_rdata"]!, e)) }
                        if responseWaiting && o["s_axil_rdata"] != responseValue { fail("R data changed while waiting") }
                        if rReady { readsAnswered += 1; nextOp() } else { responseWaiting = true; responseValue = o["s_axil_rdata"]! }
                    } else { fail("R before AR") }
                }
                if !arDone && arDelay > 0 { arDelay -= 1 }
            case .runDone:
                done = true
                nextOp()
            case .figures:
                busy = rng.below(2); error = rng.below(2)
                for n in AxiLiteRegistersTests.figureNames { figures[n] = Int(rng.next() & 0xFFFF_FFFF) }
                cycles = Int(rng.next() >> 1)
                nextOp()
            case nil:
                if gap > 0 { gap -= 1 }
                if bvalid || rvalid { fail("response with no transaction") }
            }
            bReady = rng.below(3) != 0
            rReady = rng.below(3) != 0
            cycle += 1
        }
    }

    func testRegisterMapUnderRandomHandshakeTiming() throws {
        var c = AcceleratorConfig.paper
        c.pc = 4; c.pf = 8; c.pd = 2; c.streamBytes = 32
        c.ramSBytes = 8 * 1024; c.ramMBytes = 0
        let registers = try AxiLiteRegisters(config: c)
        let sim = try Simulator(Design(top: registers.module))
        var rng = SplitMix(state: 0xA71)
        typealias O = AxiLiteRegisters.Offset
        let offsets = [O.id, O.config, O.control, O.status, O.irqAck, O.recordBase, O.recordCount, O.recordsDone, O.cyclesLo,
                       O.cyclesHi, O.stallInput, O.stallOutput, O.engineBeats, O.pruneActive, O.currentLayer, O.errorRecord,
                       O.layersDone, O.layerDoneIndex, O.layerDoneCycles, O.layerDoneStallInput, O.layerDoneStallOutput,
                       O.layerDoneEngineBeats, O.onChipReadBeats, O.onChipWriteBeats, O.onChipRawStalls, O.ramSBytes, O.ramMBytes,
                       O.weightBase, O.weightBeats, 0x74, 0x7FC, 0xFFC]
        var ops: [Op] = [.figures]
        for _ in 0..<90 {
            switch rng.below(10) {
            case 0...3:
                let a = offsets[rng.below(offsets.count)]
                let data: Int
                switch a {
                case O.control: data = rng.below(4)
                case O.irqAck: data = rng.below(4)
                default: data = Int(rng.next() & 0xFFFF_FFFF)
                }
                ops.append(.write(address: a, data: data, strobe: rng.below(4) == 0 ? rng.below(16) : 15))
            case 4...7: ops.append(.read(address: offsets[rng.below(offsets.count)]))
            case 8: ops.append(.runDone)
                // Start with and without irq enable, acknowledge, then look at STATUS.
                ops.append(.write(address: O.control, data: 1 | rng.below(2) << 1, strobe: 15))
                ops.append(.read(address: O.status))
                ops.append(.runDone)
                ops.append(.read(address: O.status))
            default: ops.append(.figures)
            }
        }
        for a in offsets { ops.append(.read(address: a)) }
        let bench = Bench(ops: ops, rng: SplitMix(state: 7), configWord: 4 | 8 << 8 | 2 << 16 | 32 << 24,
                          ramS: 8192, ramM: 0)
        let result = try controlCosimulate(sim, bench, maxCycles: 4000, window: 64)
        print("AxiLiteRegistersTests: \(result.cycles) cycles in \(result.runs) simulator runs")
        XCTAssertEqual(result.bench.failures, [])
        XCTAssertEqual(result.bench.opIndex, ops.count)
        XCTAssertEqual(result.bench.startsSeen, result.bench.startsExpected)
        XCTAssertGreaterThan(result.bench.startsExpected, 0)
        XCTAssertGreaterThan(result.bench.readsAnswered, 40)
        XCTAssertEqual(AxiLiteRegisters.configWord(c), 4 | 8 << 8 | 2 << 16 | 32 << 24)
    }
}

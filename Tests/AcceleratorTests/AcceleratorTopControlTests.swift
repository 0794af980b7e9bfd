import Accelerator
import Foundation
import HDLKit
import Reference
import XCTest

/// AcceleratorTop's control side, closed loop: a Swift memory model serves the read commands
/// (random command and data back-pressure), a stand-in execution unit (hardware defined here, with
/// the ExecutionUnit's ports) echoes every beat it takes onto m_axis, and a Swift AXI4-Lite master
/// starts the run and reads the registers. Records are encoded by hand per docs/control.md; a
/// Swift model of the controller's semantics gives the expected commands, beat sequence (phases,
/// fill beats, bytes replaced at or above inChunk, clipping), trace pulses and register values.
final class AcceleratorTopControlTests: XCTestCase {
    // MARK: records

    private struct Record {
        var op = 1, mode = 0
        var first = false, last = false, loadParams = false, residual = false, resultSecond = false, stride2 = false
        var padTop = 0, padBottom = 0, padLeft = 0, padRight = 0
        var magic = 0xC5
        var layer = 0
        var regionRows = 0, regionCols = 0, row0 = 0, col0 = 0, imageRows = 0, imageCols = 0
        var inputAddress = 0, inputPixelStride = 0, inputRowStride = 0
        var inChunk = 0, fillValue = 0, outChunk = 0, outZeroPoint = 0
        var weightAddress = 0, weightBeats = 0, paramRecords = 0, parameterAddress = 0
        var outputAddress = 0, outputPixelStride = 0, outputRowStride = 0, outputRows = 0, outputCols = 0, residualAddress = 0
        var actMin = -128, actMax = 127
        var in1Offset = 0, in2Offset = 0, in1Multiplier = 0, in2Multiplier = 0, outMultiplier = 0
        var in1Shift = 0, in2Shift = 0, outShift = 0, outOffset = 0, addMin = -128, addMax = 127
        var threshold = 0
        var keep = false, replay = false, bufferRow0 = 0
        var residualSpan = false, residualKept = false, residualOffset = 0, residualBeats = 0
        var positions = 0, positionSlices = 0, positionHalf = false

        var writes: Bool { op == 2 || last }

        /// The 128 bytes of docs/control.md, little-endian words, FNV-1a checksum in word 31.
        func bytes(sequence: Int) -> [UInt8] {
            func u16(_ lo: Int, _ hi: Int) -> UInt32 { UInt32(lo & 0xFFFF) | UInt32(hi & 0xFFFF) << 16 }
            func u8s(_ a: Int, _ b: Int, _ c: Int, _ d: Int) -> UInt32 {
                UInt32(a & 0xFF) | UInt32(b & 0xFF) << 8 | UInt32(c & 0xFF) << 16 | UInt32(d & 0xFF) << 24
            }
            func bit(_ b: Bool, _ at: Int) -> Int { b ? 1 << at : 0 }
            var w = [UInt32](repeating: 0, count: 32)
            w[0] = UInt32(op | mode << 4 | bit(first, 6) | bit(last, 7) | bit(loadParams, 8) | bit(residual, 9)
                          | bit(resultSecond, 10) | bit(stride2, 11) | padTop << 12 | padBottom << 13 | padLeft << 14
                          | padRight << 15 | bit(keep, 16) | bit(replay, 17) | bit(residualSpan, 21) | bit(residualKept, 22)
                          | magic << 24)
            w[1] = UInt32(truncatingIfNeeded: layer)
            w[2] = u16(regionRows, regionCols); w[3] = u16(row0, col0); w[4] = u16(imageRows, imageCols)
            w[5] = UInt32(inputAddress); w[6] = UInt32(inputPixelStride); w[7] = UInt32(inputRowStride)
            w[8] = u8s(inChunk, fillValue, outChunk, outZeroPoint)
            w[9] = UInt32(weightAddress); w[10] = u16(weightBeats, paramRecords); w[11] = UInt32(parameterAddress)
            w[12] = UInt32(outputAddress); w[13] = UInt32(outputPixelStride); w[14] = UInt32(outputRowStride)
            w[15] = u16(outputRows, outputCols); w[16] = UInt32(residualAddress)
            w[17] = u8s(actMin, actMax, 0, 0); w[18] = u16(in1Offset, in2Offset)
            w[19] = UInt32(truncatingIfNeeded: in1Multiplier); w[20] = UInt32(truncatingIfNeeded: in2Multiplier)
            w[21] = UInt32(truncatingIfNeeded: outMultiplier)
            w[22] = u8s(in1Shift, in2Shift, outShift, outOffset); w[23] = u8s(addMin, addMax, 0, 0)
            w[24] = UInt32(threshold) | UInt32(residualOffset) << 8 | UInt32(positions) << 16 | UInt32(positionSlices) << 20 | UInt32(bit(positionHalf, 24))
                | UInt32(inChunk >> 8) << 25 | UInt32(outChunk >> 8) << 26
            w[25] = u16(bufferRow0, residualBeats)
            w[30] = UInt32(sequence)
            var bytes = w.flatMap { v in (0..<4).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }
            var h: UInt32 = 0x811C_9DC5
            for b in bytes[0..<124] { h = (h ^ UInt32(b)) &* 0x0100_0193 }
            for k in 0..<4 { bytes[124 + k] = UInt8(truncatingIfNeeded: h >> (8 * k)) }
            return bytes
        }

        /// The ExecutionUnit's configuration ports, in the stand-in's hashing order, as unsigned
        /// values of the port widths (`positions`: with the depthwise positions' ports).
        func portValues(positions hasPositions: Bool) -> [Int] {
            func u(_ v: Int, _ w: Int) -> Int { v & ((1 << w) - 1) }
            func b(_ v: Bool) -> Int { v ? 1 : 0 }
            return [b(op == 2), mode, b(first), b(last), b(loadParams), b(residual), b(resultSecond), b(stride2),
                    padTop, padBottom, padLeft, padRight, regionRows, regionCols, outputRows, outputCols, outChunk,
                    u(fillValue, 8), u(outZeroPoint, 8), u(actMin, 8), u(actMax, 8), u(in1Offset, 16), u(in2Offset, 16),
                    u(in1Multiplier, 32), u(in2Multiplier, 32), u(outMultiplier, 32), u(in1Shift, 8), u(in2Shift, 8),
                    u(outShift, 8), u(outOffset, 8), u(addMin, 8), u(addMax, 8), threshold, paramRecords, weightBeats,
                    b(keep), b(replay), bufferRow0, b(residualSpan), u(outputPixelStride, 16), residualOffset]
                + (hasPositions ? [positions, positionSlices, b(positionHalf)] : [])
        }
    }

    /// Configuration ports of the ExecutionUnit in the contract's order (`out_chunk` 8 bits, 9 at B = 256).
    private static func configPorts(chunkWidth: Int) -> [(String, HWType)] { [

        ("op_copy", .bool), ("mode", .uint(2)), ("first", .bool), ("last", .bool), ("load_params", .bool), ("residual", .bool),
        ("result_second", .bool), ("stride2", .bool), ("pad_top", .bool), ("pad_bottom", .bool), ("pad_left", .bool),
        ("pad_right", .bool), ("region_rows", .uint(16)), ("region_cols", .uint(16)), ("out_rows", .uint(16)),
        ("out_cols", .uint(16)), ("out_chunk", .uint(chunkWidth)), ("fill_value", .sint(8)), ("out_zp", .sint(8)), ("act_min", .sint(8)),
        ("act_max", .sint(8)), ("add_in1_offset", .sint(16)), ("add_in2_offset", .sint(16)), ("add_in1_multiplier", .sint(32)),
        ("add_in2_multiplier", .sint(32)), ("add_out_multiplier", .sint(32)), ("add_in1_shift", .sint(8)),
        ("add_in2_shift", .sint(8)), ("add_out_shift", .sint(8)), ("add_out_offset", .sint(8)), ("add_min", .sint(8)),
        ("add_max", .sint(8)), ("threshold", .uint(8)), ("param_records", .uint(16)), ("weight_beats", .uint(16)),
        ("keep", .bool), ("replay", .bool), ("buffer_row0", .uint(16)),
        ("residual_span", .bool), ("residual_stride", .uint(16)), ("residual_offset", .uint(8)),
    ] }
    /// Where a depthwise beat may carry several positions (`depthwiseSlices` > 1).
    private static let positionPorts: [(String, HWType)] = [("dw_positions", .uint(4)), ("position_slices", .uint(4)), ("position_half", .bool)]

    private static func configHash(_ values: [Int]) -> Int {
        values.enumerated().reduce(0) { ($0 + $1.element * (2 * $1.offset + 1)) & ((1 << 48) - 1) }
    }

    // MARK: the stand-in execution unit

    /// Takes beats when a free-running LFSR says so, echoes each onto its output (byte B−1 XOR
    /// in_phase·64, so the phase is visible), marks the pass's last pixel beat `out_last`, and
    /// pulses pass_done once all pixel beats are in and all echoes accepted. `engine_beat` is a
    /// pixel beat; `activity` adds a hash of the configuration ports at pass_start and 1 per weight beat.
    /// The stand-in echoes every beat it takes, write command or not, which only the plain ports
    /// carry: the on-chip memory routes output beats by their write commands (OnChipMemoryTests and
    /// the RTL network tests cover it).
    private static func withoutOnChipMemory(_ config: AcceleratorConfig) -> AcceleratorConfig {
        var c = config
        c.ramSBytes = 0; c.ramMBytes = 0
        return c
    }

    private static func standIn(_ c: AcceleratorConfig) -> Module {
        let b = c.streamBytes
        return Module("StandInExecutionUnit_b\(b)") { m in
            let config = (configPorts(chunkWidth: c.chunkWidth) + (c.depthwiseSlices > 1 ? positionPorts : [])).map { m.input($0.0, $0.1) }
            let passStart = m.input("pass_start", .bool)
            let inValid = m.input("in_valid", .bool)
            let inReady = m.output("in_ready", .bool)
            let inPhase = m.input("in_phase", .uint(2))
            let inBytes = m.inputs("in_byte", count: b, .sint(8))
            let passDone = m.output("pass_done", .bool)
            let outValid = m.output("out_valid", .bool)
            let outReady = m.input("out_ready", .bool)
            let outBytes = m.outputs("out_byte", count: b, .sint(8))
            let outLast = m.output("out_last", .bool)
            let engineBeat = m.output("engine_beat", .bool)
            let activityOut = m.output("activity", .uint(48))
            // The weight stream: every beat is taken when the LFSR says so and counted in `activity`.
            let wtValid = m.input("wt_valid", .bool)
            let wtReady = m.output("wt_ready", .bool)
            for name in ["wt_set_last", "wt_wide", "weights_clear"] { m.discard(m.input(name, .bool)) }
            m.discard(m.input("wt_mode", .uint(2)))
            for i in 0..<b { m.discard(m.input("wt_byte_\(i)", .sint(8))) }

            let lfsr = m.reg("lfsr", .uint(16), reset: 0xACE1)
            lfsr.assign(cat(lfsr[0] ^ lfsr[2] ^ lfsr[3] ^ lfsr[5], lfsr.bits(15, 1)))
            let active = m.reg("active", .bool, reset: 0)
            let pixels = m.reg("pixels", .uint(32), reset: 0)
            let pixelTotal = m.reg("pixel_total", .uint(32), reset: 0)
            let pixelsIn = m.reg("pixels_in", .bool, reset: 0)
            let activity = m.reg("activity_q", .uint(48), reset: 0)
            let fifo = m.instance(FIFO(depth: 4, payload: .uint(8 * b + 1)).module, "echo")
            let take = m.wire("take", active && !pixelsIn && fifo.push_ready && (lfsr[0] || lfsr[1]))
            inReady.assign(take)
            wtReady.assign(lfsr[2] || lfsr[4])
            let fire = m.wire("fire", inValid && take)
            let isPixel = inPhase == 3
            let lastPixel = m.wire("last_pixel", isPixel && pixels == pixelTotal &- 1)
            var bytes = inBytes.map(\.asUnsigned)
            bytes[b - 1] = bytes[b - 1] ^ cat(inPhase, Signal.uint(0, width: 6))
            fifo.push_valid.assign(fire)
            fifo.push_payload.assign(cat([lastPixel] + bytes.reversed()))
            outValid.assign(fifo.pop_valid)
            fifo.pop_ready.assign(outReady)
            for (i, o) in outBytes.enumerated() { o.assign(fifo.pop_payload.bits(8 * i + 7, 8 * i).asSigned) }
            outLast.assign(fifo.pop_payload[8 * b])
            engineBeat.assign(fire && isPixel)
            activityOut.assign(activity)

            var hash = Signal.uint(0, width: 48)
            for (k, port) in config.enumerated() { hash = (hash &+ (port.asUnsigned * (2 * k + 1)).resize(48)) }
            passDone.assign(0)
            let weightBeat = mux(wtValid && wtReady, Signal.uint(1, width: 48), Signal.uint(0, width: 48))
            activity.assign(activity &+ mux(passStart, hash, Signal.uint(0, width: 48)) &+ weightBeat)
            m.when(passStart) {
                active.assign(1)
                pixels.assign(0)
                pixelTotal.assign(config[12] * config[13])
                pixelsIn.assign(0)
            }.elsewhen(active) {
                m.when(fire && isPixel) {
                    pixels.assign(pixels &+ 1)
                    m.when(lastPixel) { pixelsIn.assign(1) }
                }
                m.when(pixelsIn && fifo.empty) {
                    passDone.assign(1)
                    active.assign(0)
                }
            }
            m.discard(fifo.count)
            m.discard(fifo.full)
        }
    }

    /// AcceleratorTop with its wide data ports split into bytes, so the test drives plain integers.
    private static func bench(_ top: Module, bytes b: Int) -> Module {
        Module("AcceleratorTopBench_b\(b)") { m in
            let u = m.instance(top, "dut")
            for p in top.portList {
                if p.type.width > 64 {
                    // The data ports (8·B bits) and, at B = 256, tkeep (B bits), a byte a port.
                    let n = p.type.width / 8
                    if p.isInput {
                        u.port(p.name).assign(cat((0..<n).reversed().map { m.input("\(p.name)_\($0)", .uint(8)) }))
                    } else {
                        for i in 0..<n { m.output("\(p.name)_\(i)", u.port(p.name).bits(8 * i + 7, 8 * i)) }
                    }
                } else if p.isInput {
                    u.port(p.name).assign(m.input(p.name, p.type))
                } else {
                    m.output(p.name, u.port(p.name))
                }
            }
        }
    }

    // MARK: the memory, the AXI4-Lite master and the logs

    private struct Command: Equatable, CustomStringConvertible {
        var address, chunk, count1, stride1, count2, stride2: Int
        var description: String { String(format: "cmd(0x%x, chunk %d, %d×%d, %d×%d)", address, chunk, count1, stride1, count2, stride2) }
    }

    /// `waitTraces(n)`: until n `trace_record_done` pulses were seen.
    private enum LiteOp { case write(Int, Int), read(Int), waitIrq, waitTraces(Int) }

    private struct Bench: ControlTestBench {
        let memory: [Int: UInt8]
        let b: Int
        var rng: SplitMix
        var ops: [LiteOp]
        var opIndex = 0
        var awDone = false, wDone = false, arDone = false
        var reads: [(address: Int, value: Int)] = []
        var failures: [String] = []
        // Memory side.
        var pending: [Command] = []
        var beat = 0
        var cmdReady = false, dataValid = false, wrReady = false, outReady = false
        var readCommands: [Command] = []
        var readCommandCycles: [Int] = []
        // The weight stream's side: its commands and the beats taken, in order.
        var weightPending: [Command] = []
        var weightBeat = 0
        var weightCmdReady = false, weightValid = false
        var weightCommands: [Command] = []
        var weightBeatsTaken: [[Int]] = []
        var traceCycles: [Int] = []
        /// Memory and output always ready, for timing measurements.
        var eager = false
        var writeCommands: [Command] = []
        var outBeats: [[Int]] = []
        var outLasts: [Int] = []
        var outKeeps: [[Bool]] = []
        var traces: [Int] = []
        var stallInput = 0, stallOutput = 0
        /// stallInput and stallOutput up to the cycle before each trace pulse (the pass's end).
        var stallsAtTrace: [(input: Int, output: Int)] = []
        var irqSeenAt: Int?
        var stallsAtIrq: [(input: Int, output: Int)] = []
        var cycle = 0

        var finished: Bool { opIndex >= ops.count || cycle > 20000 }

        static func byte(_ memory: [Int: UInt8], _ a: Int) -> UInt8 {
            memory[a] ?? UInt8(truncatingIfNeeded: (a &* 0x9E37_79B1) >> 11)
        }

        /// The beat the memory offers now: B bytes from the beat's address (bytes at or above the
        /// chunk are don't-care; the memory sends what follows) and whether it is the command's last.
        func currentBeat(weights: Bool = false) -> (bytes: [Int], last: Bool)? {
            guard let c = weights ? weightPending.first : pending.first else { return nil }
            let beat = weights ? weightBeat : beat
            let i = beat % c.count1, j = beat / c.count1
            let a = c.address &+ j &* c.stride2 &+ i &* c.stride1
            return ((0..<b).map { Int(Self.byte(memory, (a + $0) & 0xFFFF_FFFF)) }, beat == c.count1 * c.count2 - 1)
        }

        func inputs() -> [String: Int] {
            var i: [String: Int] = ["s_axil_awvalid": 0, "s_axil_awaddr": 0, "s_axil_wvalid": 0, "s_axil_wdata": 0,
                                    "s_axil_wstrb": 15, "s_axil_bready": 1, "s_axil_arvalid": 0, "s_axil_araddr": 0,
                                    "s_axil_rready": 1, "m_rd_cmd_ready": cmdReady ? 1 : 0, "m_wr_cmd_ready": wrReady ? 1 : 0,
                                    "m_axis_tready": outReady ? 1 : 0, "s_axis_tvalid": 0, "s_axis_tlast": 0]
            for k in 0..<b { i["s_axis_tdata_\(k)"] = 0; i["s_axis_wt_tdata_\(k)"] = 0 }
            i["m_wt_cmd_ready"] = weightCmdReady ? 1 : 0
            i["s_axis_wt_tvalid"] = 0; i["s_axis_wt_tlast"] = 0
            if weightValid, let (bytes, last) = currentBeat(weights: true) {
                i["s_axis_wt_tvalid"] = 1
                i["s_axis_wt_tlast"] = last ? 1 : 0
                for k in 0..<b { i["s_axis_wt_tdata_\(k)"] = bytes[k] }
            }
            if dataValid, let (bytes, last) = currentBeat() {
                i["s_axis_tvalid"] = 1
                i["s_axis_tlast"] = last ? 1 : 0
                for k in 0..<b { i["s_axis_tdata_\(k)"] = bytes[k] }
            }
            if opIndex < ops.count {
                switch ops[opIndex] {
                case .write(let a, let d):
                    i["s_axil_awaddr"] = a; i["s_axil_wdata"] = d
                    i["s_axil_awvalid"] = awDone ? 0 : 1; i["s_axil_wvalid"] = wDone ? 0 : 1
                case .read(let a):
                    i["s_axil_araddr"] = a; i["s_axil_arvalid"] = arDone ? 0 : 1
                case .waitIrq, .waitTraces: break
                }
            }
            return i
        }

        mutating func observe(_ o: [String: Int], _ i: [String: Int]) {
            func v(_ n: String) -> Int { o[n, default: 0] }
            let stallsBefore = (input: stallInput, output: stallOutput)
            func command(_ p: String) -> Command {
                Command(address: v("\(p)_address"), chunk: v("\(p)_chunk"), count1: v("\(p)_count1"), stride1: v("\(p)_stride1"),
                        count2: v("\(p)_count2"), stride2: v("\(p)_stride2"))
            }
            if v("m_rd_cmd_valid") == 1 && cmdReady {
                let c = command("m_rd_cmd")
                readCommands.append(c)
                readCommandCycles.append(cycle)
                if c.count1 * c.count2 > 0 { pending.append(c) }
            }
            if v("m_wr_cmd_valid") == 1 && wrReady { writeCommands.append(command("m_wr_cmd")) }
            if v("m_wt_cmd_valid") == 1 && weightCmdReady {
                let c = command("m_wt_cmd")
                weightCommands.append(c)
                if c.count1 * c.count2 > 0 { weightPending.append(c) }
            }
            if i["s_axis_wt_tvalid"] == 1 && v("s_axis_wt_tready") == 1 {
                weightBeatsTaken.append((0..<b).map { i["s_axis_wt_tdata_\($0)", default: 0] })
                weightBeat += 1
                if let c = weightPending.first, weightBeat == c.count1 * c.count2 { weightPending.removeFirst(); weightBeat = 0 }
            }
            if i["s_axis_tvalid"] == 1 && v("s_axis_tready") == 1 {
                beat += 1
                if let c = pending.first, beat == c.count1 * c.count2 { pending.removeFirst(); beat = 0 }
            }
            if v("s_axis_tready") == 1 && i["s_axis_tvalid"] == 0 { stallInput += 1 }
            if v("m_axis_tvalid") == 1 {
                if outReady {
                    outBeats.append((0..<b).map { v("m_axis_tdata_\($0)") })
                    outLasts.append(v("m_axis_tlast"))
                    // tkeep, a flag a byte lane; above 64 bits (B = 256) it comes as byte ports.
                    outKeeps.append((0..<b).map { k in (b <= 64 ? v("m_axis_tkeep") >> k : v("m_axis_tkeep_\(k / 8)") >> (k % 8)) & 1 == 1 })
                } else { stallOutput += 1 }
            }
            if v("trace_record_done") == 1 {
                traces.append(v("trace_layer"))
                traceCycles.append(cycle)
                stallsAtTrace.append(stallsBefore)
            }
            if opIndex < ops.count {
                switch ops[opIndex] {
                case .write:
                    if i["s_axil_awvalid"] == 1 && v("s_axil_awready") == 1 { awDone = true }
                    if i["s_axil_wvalid"] == 1 && v("s_axil_wready") == 1 { wDone = true }
                    if v("s_axil_bvalid") == 1 { opIndex += 1; awDone = false; wDone = false }
                case .read(let a):
                    if i["s_axil_arvalid"] == 1 && v("s_axil_arready") == 1 { arDone = true }
                    else if arDone && v("s_axil_rvalid") == 1 { reads.append((a, v("s_axil_rdata"))); opIndex += 1; arDone = false }
                case .waitIrq:
                    if v("irq") == 1 { irqSeenAt = cycle; stallsAtIrq.append((stallInput, stallOutput)); opIndex += 1 }
                case .waitTraces(let n):
                    if traces.count >= n { opIndex += 1 }
                }
            }
            cmdReady = eager || rng.below(3) != 0
            weightCmdReady = eager || rng.below(3) != 0
            weightValid = eager || rng.below(3) != 0
            dataValid = eager || rng.below(4) != 0
            wrReady = eager || rng.below(2) != 0
            outReady = eager || rng.below(4) != 0
            cycle += 1
        }
    }

    // MARK: the model

    /// The order of the read commands of a short run of `count` records from `recordBase` (at most
    /// four: docs/control.md, ControlUnit "Why commands run ahead"): each pass's commands go out while
    /// the pass before it runs, records 1 and 2 are fetched in pass 0, before pass 1's, and record
    /// 3's fetch follows pass 1's commands, so the stream is record 0, pass 0's commands, records 1
    /// and 2, pass 1's commands, record 3, pass 2's commands, pass 3's. (Longer runs fetch as many
    /// records ahead as their passes have room for: `readOrderErrors`.)
    /// A record's fetch: its 128 bytes in 128 / B beats of B, or in one beat of 128 where B = 256.
    private static func recordFetch(_ address: Int, b: Int) -> Command {
        Command(address: address, chunk: min(b, 128), count1: max(1, 128 / b), stride1: min(b, 128), count2: 1, stride2: 0)
    }

    private static func readOrder(recordBase: Int, b: Int, count: Int, commands: [[Command]]) -> [Command] {
        precondition(count <= 4, "a longer run's order depends on its passes' lengths: readOrderErrors")
        func fetch(_ n: Int) -> [Command] {
            n < count ? [recordFetch(recordBase + 128 * n, b: b)] : []
        }
        var reads = fetch(0)
        for n in 0..<count {
            if n == 0 { reads += commands[0] + fetch(1) + fetch(2) } else { reads += commands[n] + fetch(n + 2) }
        }
        return reads
    }

    /// The order rules of a run's read commands where passes of different lengths fetch different
    /// numbers of records ahead (docs/control.md, ControlUnit "Why commands run ahead"): the passes'
    /// commands in pass order; the records fetched once each, in order, record 0 first; record j
    /// after pass j − recordsAhead's commands (a pass fetches at most that far past itself, after
    /// its own commands) and before pass j − lateFetchAhead + 1's (pass k fetches records up to
    /// k + lateFetchAhead late, before pass k+1's commands, if they are not yet fetched). A run that
    /// stops at record `stop` has fetched it, and nothing past what pass stop − 2 could fetch ahead.
    /// Returns what breaks them.
    private static func readOrderErrors(_ reads: [Command], recordBase: Int, b: Int, count: Int, commands: [[Command]],
                                        stop: Int? = nil) -> [String] {
        let ahead = ControlUnit.recordsAhead, late = ControlUnit.lateFetchAhead
        let runs = stop ?? count
        var recordAt: [Int: Int] = [:], data: [Command] = [], dataAt: [Int] = []
        for (i, c) in reads.enumerated() {
            if let j = (0..<count).first(where: { c == recordFetch(recordBase + 128 * $0, b: b) }), recordAt[j] == nil {
                recordAt[j] = i
            } else {
                data.append(c); dataAt.append(i)
            }
        }
        var errors: [String] = []
        if data != commands.prefix(runs).flatMap({ $0 }) { errors.append("the passes' commands, in pass order: \(data)") }
        let fetched = recordAt.count
        if recordAt.keys.sorted() != Array(0..<fetched) || (0..<fetched).map({ recordAt[$0]! }) != (0..<fetched).map({ recordAt[$0]! }).sorted() {
            errors.append("records fetched once each, in order: \(recordAt.sorted { $0.key < $1.key })")
            return errors
        }
        if recordAt[0] != 0 { errors.append("record 0 first") }
        let most = stop.map { min(count, $0 + ahead - 1) } ?? count
        if fetched < (stop.map { $0 + 1 } ?? count) || fetched > most { errors.append("\(fetched) records fetched") }
        guard errors.isEmpty else { return errors }
        // Where each pass's commands lie in `reads`.
        var first: [Int?] = [], last: [Int?] = [], n = 0
        for cs in commands.prefix(runs) {
            first.append(cs.isEmpty ? nil : dataAt[n]); last.append(cs.isEmpty ? nil : dataAt[n + cs.count - 1]); n += cs.count
        }
        for j in 1..<fetched {
            let at = recordAt[j]!
            if j - ahead >= 0, j - ahead < runs, let l = last[j - ahead], at < l { errors.append("record \(j) before pass \(j - ahead)'s commands") }
            let by = max(1, j - late + 1)
            if by < runs, let f = first[by], at > f { errors.append("record \(j) after pass \(by)'s commands") }
        }
        return errors
    }

    /// What the controller must do with `record` (docs/control.md): its read commands after the
    /// record fetch, its write command, and the beats the execution unit sees (phase, bytes) on the
    /// data stream. Its weights come on the weight stream (`weightStream`).
    /// `perBeat`: parameter records a beat carries (AcceleratorConfig.parameterRecordsPerBeat).
    private static func expected(_ r: Record, memory: [Int: UInt8], b: Int, perBeat: Int = 1)
        -> (reads: [Command], write: Command?, beats: [(phase: Int, bytes: [Int])])
    {
        var reads: [Command] = []
        var beats: [(Int, [Int])] = []
        func fetch(_ c: Command, phase: Int) {
            reads.append(c)
            for j in 0..<c.count2 { for i in 0..<c.count1 {
                let a = c.address + j * c.stride2 + i * c.stride1
                beats.append((phase, (0..<b).map { Int(Bench.byte(memory, a + $0)) }))
            } }
        }
        if r.loadParams && r.paramRecords > 0 {
            fetch(Command(address: r.parameterAddress, chunk: 16 * perBeat, count1: (r.paramRecords + perBeat - 1) / perBeat,
                          stride1: 16 * perBeat, count2: 1, stride2: 0), phase: 0)
        }
        let out = Command(address: r.outputAddress, chunk: r.outChunk, count1: r.outputCols, stride1: r.outputPixelStride,
                          count2: r.outputRows, stride2: r.outputRowStride)
        if r.residual && r.writes && r.residualSpan && !r.residualKept && r.residualBeats > 0 {
            // A span: whole beats from the address, no residual phase at all when kept.
            fetch(Command(address: r.residualAddress, chunk: b, count1: r.residualBeats, stride1: b, count2: 1, stride2: 0), phase: 2)
        } else if r.residual && r.writes && !r.residualSpan {
            fetch(Command(address: r.residualAddress, chunk: r.outChunk, count1: r.outputCols, stride1: r.outputPixelStride,
                          count2: r.outputRows, stride2: r.outputRowStride), phase: 2)
        }
        let rows = (0..<r.regionRows).filter { (0..<r.imageRows).contains(r.row0 + $0) }
        let cols = (0..<r.regionCols).filter { (0..<r.imageCols).contains(r.col0 + $0) }
        if let r0 = rows.first, let c0 = cols.first {
            reads.append(Command(address: (r.inputAddress + (r.row0 + r0) * r.inputRowStride + (r.col0 + c0) * r.inputPixelStride) & 0xFFFF_FFFF,
                                 chunk: r.inChunk, count1: cols.count, stride1: r.inputPixelStride, count2: rows.count,
                                 stride2: r.inputRowStride))
        }
        let fill = r.fillValue & 0xFF
        for y in 0..<r.regionRows { for x in 0..<r.regionCols {
            if rows.contains(y) && cols.contains(x) {
                let a = r.inputAddress + (r.row0 + y) * r.inputRowStride + (r.col0 + x) * r.inputPixelStride
                beats.append((3, (0..<b).map { $0 < r.inChunk ? Int(Bench.byte(memory, a + $0)) : fill }))
            } else {
                beats.append((3, [Int](repeating: fill, count: b)))
            }
        } }
        return (reads, r.writes ? out : nil, beats)
    }

    /// Lays the records' weight sets out as the weight stream from `base` (docs/control.md, "Weight
    /// stream"): each conv record with weight beats points at the next set, in record order. Returns
    /// the stream's beats.
    private static func streamWeights(_ records: inout [Record], base: Int, b: Int) -> Int {
        var beats = 0
        for n in records.indices where records[n].op == 1 && records[n].magic == 0xC5 && records[n].weightBeats > 0 {
            records[n].weightAddress = base + beats * b
            beats += records[n].weightBeats
        }
        return beats
    }

    /// The weight stream's read commands for `beats` beats from `base`: WeightStreamer.commandBeats
    /// at a time.
    private static func weightCommands(base: Int, beats: Int, b: Int) -> [Command] {
        stride(from: 0, to: beats, by: WeightStreamer.commandBeats).map {
            Command(address: base + $0 * b, chunk: b, count1: min(WeightStreamer.commandBeats, beats - $0), stride1: b, count2: 1, stride2: 0)
        }
    }

    // MARK: the test

    func testRecordsRunThroughTheControllerWithRandomBackPressure() throws {
        var c = AcceleratorConfig.paper
        c.pc = 4; c.pf = 4; c.pd = 2; c.streamBytes = 16; c.maxRowWidth = 32; c.outputBufferDepth = 64
        c = Self.withoutOnChipMemory(c)
        let b = c.streamBytes
        var rng = SplitMix(state: 0xC0_47)
        func random8() -> Int { rng.below(256) - 128 }

        var records: [Record] = []
        // Standard conv, first pass of a group with parameters, clipped at the top, left and bottom.
        var r = Record(op: 1, mode: 0, first: true, loadParams: true, layer: 3, regionRows: 5, regionCols: 6, row0: -1, col0: -1,
                       imageRows: 4, imageCols: 5, inputAddress: 0x1_0000, inputPixelStride: 4, inputRowStride: 20, inChunk: 4,
                       fillValue: -7, outChunk: 4, weightAddress: 0x2000, weightBeats: 9, paramRecords: 4, parameterAddress: 0x3000)
        r.padTop = 1; r.padLeft = 1; r.stride2 = true
        records.append(r)
        // Pointwise, last pass with a residual (result second), inside the image, writes.
        r = Record(op: 1, mode: 1, last: true, residual: true, resultSecond: true, layer: 4, regionRows: 2, regionCols: 7,
                   row0: 2, col0: 3, imageRows: 10, imageCols: 12, inputAddress: 0x1_0400, inputPixelStride: 8, inputRowStride: 96,
                   inChunk: 4, fillValue: 5, outChunk: 4, outZeroPoint: random8(), weightAddress: 0x2100, weightBeats: 1,
                   outputAddress: 0x4_0000, outputPixelStride: 4, outputRowStride: 28, outputRows: 2, outputCols: 7,
                   residualAddress: 0x5_0000)
        r.in1Offset = rng.below(65536) - 32768; r.in2Offset = 1234; r.in1Multiplier = -123_456_789; r.in2Multiplier = 0x4000_0001
        r.outMultiplier = 987_654_321; r.in1Shift = -3; r.in2Shift = -20; r.outShift = 5; r.outOffset = random8()
        r.addMin = -100; r.addMax = 90; r.actMin = -50; r.actMax = 60; r.threshold = 3
        records.append(r)
        // Copy with a residual, region hanging off the top and the right: one in-image row of two
        // pixels, inChunk 3 (bytes 3 ... 15 read as the fill value).
        records.append(Record(op: 2, residual: true, layer: 70000, regionRows: 3, regionCols: 4, row0: -2, col0: 10,
                              imageRows: 3, imageCols: 12, inputAddress: 0x1_1000, inputPixelStride: 3, inputRowStride: 36,
                              inChunk: 3, fillValue: -128, outChunk: 3, outputAddress: 0x6_0000, outputPixelStride: 3,
                              outputRowStride: 12, outputRows: 3, outputCols: 4, residualAddress: 0x7_0000))
        // Depthwise last pass whose region lies wholly below the image: fill beats only, no pixel
        // command; its beats are four positions of half a slice (word 24 bits 16-24, passed through).
        r = Record(op: 1, mode: 2, last: true, layer: 6, regionRows: 3, regionCols: 3, row0: 20, col0: 0,
                   imageRows: 8, imageCols: 8, inputAddress: 0x1_2000, inputPixelStride: 8, inputRowStride: 32,
                   inChunk: 8, fillValue: 17, outChunk: 8, weightAddress: 0x2200, weightBeats: 5,
                   outputAddress: 0x8_0000, outputPixelStride: 8, outputRowStride: 8, outputRows: 1, outputCols: 1)
        XCTAssertEqual(c.depthwiseSlices, 2)
        r.positions = 4; r.positionSlices = 1; r.positionHalf = true
        records.append(r)
        // Plain copy of a region inside the image with full 16-byte positions.
        records.append(Record(op: 2, layer: 7, regionRows: 2, regionCols: 3, row0: 1, col0: 1, imageRows: 4, imageCols: 4,
                              inputAddress: 0x1_3000, inputPixelStride: 16, inputRowStride: 64, inChunk: 16, fillValue: 0,
                              outChunk: 16, outputAddress: 0x9_0000, outputPixelStride: 16, outputRowStride: 48, outputRows: 2,
                              outputCols: 3))
        // A bad magic stops the run here; the record after it never runs.
        var bad = records[4]; bad.magic = 0xC4; bad.layer = 8
        records.append(bad)
        records.append(records[4])
        // Record 7, for a second run: magic right, op 3.
        var badOp = records[4]; badOp.op = 3
        records.append(badOp)
        let weightBase = 0x2000
        let weightBeats = Self.streamWeights(&records, base: weightBase, b: b)

        let recordBase = 0x8_0100
        var memory: [Int: UInt8] = [:]
        for (n, rec) in records.enumerated() {
            for (k, byte) in rec.bytes(sequence: n).enumerated() { memory[recordBase + 128 * n + k] = byte }
        }

        typealias O = AxiLiteRegisters.Offset
        let readBack = [O.status, O.recordsDone, O.cyclesLo, O.cyclesHi, O.stallInput, O.stallOutput, O.engineBeats,
                        O.pruneActive, O.currentLayer, O.errorRecord, O.recordBase, O.recordCount, O.id, O.config,
                        O.layersDone, O.layerDoneIndex, O.layerDoneCycles, O.layerDoneEngineBeats]
        var ops: [LiteOp] = [.write(O.weightBase, weightBase), .write(O.weightBeats, weightBeats), .write(O.recordBase, recordBase),
                             .write(O.recordCount, records.count), .write(O.control, 3), .waitIrq]
        ops += readBack.map { .read($0) }
        ops += [.write(O.irqAck, 2), .read(O.status)]
        // A second run starting at the bad-op record stops at once with ERROR_RECORD 0 and the
        // figures cleared; a third with RECORD_COUNT 0 is done at once, without error.
        ops += [.write(O.recordBase, recordBase + 128 * 7), .write(O.recordCount, 1), .write(O.control, 3), .waitIrq,
                .read(O.status), .read(O.errorRecord), .read(O.recordsDone), .read(O.engineBeats), .write(O.irqAck, 2),
                .write(O.recordCount, 0), .write(O.control, 3), .waitIrq, .read(O.status), .read(O.recordsDone)]

        let top = try AcceleratorTop(config: c, executionUnit: Self.standIn(c))
        XCTAssertEqual(top.module.name, "AcceleratorTop")
        let sim = try Simulator(Design(top: Self.bench(top.module, bytes: b)))
        let result = try controlCosimulate(sim, Bench(memory: memory, b: b, rng: SplitMix(state: 99), ops: ops), maxCycles: 6000,
                                           window: 384)
        let bench = result.bench
        print("AcceleratorTopControlTests: \(result.cycles) cycles in \(result.runs) simulator runs, irq at \(bench.irqSeenAt ?? -1), \(bench.outBeats.count) beats out, stalls \(bench.stallInput) in \(bench.stallOutput) out")
        XCTAssertNotNil(bench.irqSeenAt)

        // Records 0 ... 4 run; record 5 is fetched and stops the run.
        let ran = records.prefix(5)
        var commands: [[Command]] = [], writes: [Command] = [], beats: [(phase: Int, bytes: [Int])] = [], lasts: [Int] = []
        for rec in ran {
            let e = Self.expected(rec, memory: memory, b: b, perBeat: c.parameterRecordsPerBeat)
            commands.append(e.reads)
            if let w = e.write { writes.append(w) }
            beats += e.beats
            lasts += e.beats.indices.map { $0 == e.beats.count - 1 ? 1 : 0 }
        }
        // The second run fetches its one record, from its own base.
        XCTAssertEqual(bench.readCommands.last, Self.recordFetch(recordBase + 128 * 7, b: b))
        XCTAssertEqual(Self.readOrderErrors(Array(bench.readCommands.dropLast()), recordBase: recordBase, b: b, count: records.count,
                                            commands: commands, stop: 5), [])
        XCTAssertEqual(bench.writeCommands, writes)
        // The weight stream: read whole in both runs that start; the second one stops at its first
        // record and drops every beat before it reports done, so nothing is left in flight.
        let stream = (0..<weightBeats).map { n in (0..<b).map { Int(Bench.byte(memory, weightBase + n * b + $0)) } }
        XCTAssertEqual(bench.weightCommands, Array(repeating: Self.weightCommands(base: weightBase, beats: weightBeats, b: b), count: 2).flatMap { $0 })
        XCTAssertEqual(bench.weightBeatsTaken, stream + stream)
        let echoed = beats.map { beat in beat.bytes.enumerated().map { $0.offset == b - 1 ? $0.element ^ (beat.phase << 6) : $0.element } }
        XCTAssertEqual(bench.outBeats.count, echoed.count)
        for (k, (seen, want)) in zip(bench.outBeats, echoed).enumerated() where seen != want {
            XCTFail("beat \(k) (phase \(beats[k].phase)): saw \(seen), expected \(want)")
            break
        }
        XCTAssertEqual(bench.outLasts, lasts)
        XCTAssertEqual(bench.traces, ran.map { $0.layer & 0xFFFF })

        XCTAssertEqual(bench.reads.map(\.address), readBack + [O.status, O.status, O.errorRecord, O.recordsDone, O.engineBeats,
                                                                O.status, O.recordsDone])
        XCTAssertEqual(bench.reads.suffix(6).map(\.value), [0b110, 0, 0, 0, 0b010, 0], "bad op, then an empty run")
        let reg = Dictionary(bench.reads.prefix(readBack.count).map { ($0.address, $0.value) }, uniquingKeysWith: { a, _ in a })
        XCTAssertEqual(reg[O.status], 0b110, "STATUS: done and error, not busy")
        XCTAssertEqual(reg[O.recordsDone], 5)
        XCTAssertEqual(reg[O.errorRecord], 5)
        XCTAssertEqual(reg[O.currentLayer], records[4].layer)
        // One record per layer; the bad record ends layer 7 (record 4) as a next layer would.
        XCTAssertEqual(reg[O.layersDone], 5)
        XCTAssertEqual(reg[O.layerDoneIndex], records[4].layer)
        if bench.traceCycles.count == 5 { XCTAssertEqual(reg[O.layerDoneCycles], bench.traceCycles[4] - bench.traceCycles[3]) }
        XCTAssertEqual(reg[O.layerDoneEngineBeats], records[4].regionRows * records[4].regionCols)
        XCTAssertEqual(reg[O.engineBeats], beats.filter { $0.phase == 3 }.count)
        XCTAssertEqual(reg[O.stallInput], bench.stallsAtIrq.first?.input)
        XCTAssertEqual(reg[O.stallOutput], bench.stallsAtIrq.first?.output)
        XCTAssertGreaterThan(bench.stallsAtIrq.first?.input ?? 0, 0)
        XCTAssertGreaterThan(bench.stallsAtIrq.first?.output ?? 0, 0)
        let activity = ran.reduce(0) { acc, rec in
            (acc + Self.configHash(rec.portValues(positions: c.depthwiseSlices > 1)) + (rec.op == 1 ? rec.weightBeats : 0)) & ((1 << 48) - 1)
        }
        XCTAssertEqual(reg[O.pruneActive], activity & 0xFFFF_FFFF)
        let cycles = (reg[O.cyclesLo] ?? 0) | (reg[O.cyclesHi] ?? 0) << 32
        XCTAssertGreaterThan(cycles, beats.count)
        XCTAssertLessThan(cycles, result.cycles)
        XCTAssertEqual(reg[O.recordBase], recordBase)
        XCTAssertEqual(reg[O.recordCount], records.count)
        XCTAssertEqual(reg[O.id], AxiLiteRegisters.identification)
        XCTAssertEqual(reg[O.config], AxiLiteRegisters.configWord(c))
        XCTAssertEqual(bench.reads[readBack.count].value, 0b100, "STATUS after IRQ_ACK: error only")
    }

    /// The per-layer registers (docs/control.md, "Per-layer figures") under random back-pressure: after
    /// each layer's last trace pulse the host reads the snapshot, and it must match the bench's own
    /// observations: the layer's `layer`, the cycles from the previous layer's last trace pulse to its
    /// own (the first layer: from the run's first busy cycle), the input and output stalls the bench
    /// counted in that span (one cycle earlier: the device's layer ends with the pass, the pulse
    /// follows), the pixel beats of its records. A layer whose `layer` comes back after another is a
    /// new layer. Over the run the layers' figures add up to CYCLES and the other run counters.
    func testPerLayerFiguresAreLatchedAtLayerBoundaries() throws {
        let c = Self.withoutOnChipMemory(AcceleratorTopLintTests.smallConfig())
        let b = c.streamBytes
        let layers = [4, 4, 9, 9, 9, 70001, 4, 12]
        var records = layers.enumerated().map { n, layer in
            Record(op: n % 3 == 2 ? 2 : 1, mode: 1, first: true, last: n % 2 == 1, loadParams: n % 2 == 0, layer: layer,
                   regionRows: 1 + n % 2, regionCols: 12 + 5 * n, row0: 0, col0: 0, imageRows: 2, imageCols: 60,
                   inputAddress: 0x1_0000 + 0x400 * n, inputPixelStride: 4, inputRowStride: 240, inChunk: 4, fillValue: 0,
                   outChunk: 4, weightAddress: 0x2000, weightBeats: 1, paramRecords: 4, parameterAddress: 0x3000,
                   outputAddress: 0x4_0000 + 0x400 * n, outputPixelStride: 4, outputRowStride: 240, outputRows: 1 + n % 2,
                   outputCols: 12 + 5 * n)
        }
        // The layers as the host sees them: runs of equal consecutive `layer`, each with its last record.
        var runs: [(layer: Int, lastRecord: Int)] = []
        for (n, layer) in layers.enumerated() {
            if let last = runs.last, last.layer == layer { runs[runs.count - 1].lastRecord = n } else { runs.append((layer, n)) }
        }
        XCTAssertEqual(runs.count, 5)
        let weightBeats = Self.streamWeights(&records, base: 0x2000, b: b)
        let recordBase = 0x8000
        var memory: [Int: UInt8] = [:]
        for (n, rec) in records.enumerated() {
            for (k, byte) in rec.bytes(sequence: n).enumerated() { memory[recordBase + 128 * n + k] = byte }
        }
        typealias O = AxiLiteRegisters.Offset
        let snapshot = [O.layersDone, O.layerDoneIndex, O.layerDoneCycles, O.layerDoneStallInput, O.layerDoneStallOutput,
                        O.layerDoneEngineBeats, O.layersDone]
        var ops: [LiteOp] = [.write(O.weightBase, 0x2000), .write(O.weightBeats, weightBeats), .write(O.recordBase, recordBase),
                             .write(O.recordCount, records.count), .write(O.control, 3)]
        for run in runs { ops += [.waitTraces(run.lastRecord + 1)] + snapshot.map { .read($0) } }
        ops += [.waitIrq] + [O.cyclesLo, O.cyclesHi, O.stallInput, O.stallOutput, O.engineBeats].map { .read($0) }
            + snapshot.map { .read($0) }
        // A second run is cleared at start: one record, one layer, whose figures are the run's.
        ops += [.write(O.irqAck, 2), .write(O.weightBeats, records[0].weightBeats), .write(O.recordCount, 1), .write(O.control, 3), .waitIrq]
            + [O.cyclesLo, O.stallInput, O.stallOutput, O.engineBeats].map { .read($0) } + snapshot.map { .read($0) }
        let sim = try Simulator(Design(top: Self.bench(AcceleratorTop(config: c, executionUnit: Self.standIn(c)).module, bytes: b)))
        let result = try controlCosimulate(sim, Bench(memory: memory, b: b, rng: SplitMix(state: 0x1A7E), ops: ops),
                                           maxCycles: 6000, window: 384)
        let bench = result.bench
        print("AcceleratorTopControlTests (per-layer figures): \(result.cycles) cycles in \(result.runs) simulator runs")
        XCTAssertEqual(bench.opIndex, ops.count, "every register operation done")
        XCTAssertEqual(bench.traces, layers.map { $0 & 0xFFFF } + [layers[0] & 0xFFFF])
        guard bench.opIndex == ops.count, bench.traceCycles.count == records.count + 1 else { return }
        let values = bench.reads.map(\.value)
        let n = snapshot.count
        let perLayer = (0..<runs.count).map { Array(values[n * $0 ..< n * ($0 + 1)]) }
        let totals = Array(values[n * runs.count ..< n * runs.count + 5])
        let afterRun = Array(values[n * runs.count + 5 ..< n * runs.count + 5 + n])
        let second = Array(values[n * runs.count + 5 + n ..< values.count])
        let cycles = totals[0] | totals[1] << 32
        let pixels = records.map { $0.regionRows * $0.regionCols }

        var sums = [0, 0, 0, 0]
        for (k, run) in runs.enumerated() {
            let got = perLayer[k]
            let first = k == 0 ? 0 : runs[k - 1].lastRecord + 1
            // The first layer's start is the run's first busy cycle, which the bench does not see: it
            // is checked by the sum below.
            let end = bench.traceCycles[run.lastRecord], begin = k == 0 ? 0 : bench.traceCycles[runs[k - 1].lastRecord]
            let stallsEnd = bench.stallsAtTrace[run.lastRecord]
            let stallsBegin = k == 0 ? (input: 0, output: 0) : bench.stallsAtTrace[runs[k - 1].lastRecord]
            XCTAssertEqual(got[0], k + 1, "LAYERS_DONE after layer \(k)")
            XCTAssertEqual(got[6], k + 1, "LAYERS_DONE unchanged while the snapshot of layer \(k) was read")
            XCTAssertEqual(got[1], run.layer, "LAYER_DONE_INDEX of layer \(k)")
            XCTAssertEqual(got[3], stallsEnd.input - stallsBegin.input, "LAYER_DONE_STALL_INPUT of layer \(k)")
            XCTAssertEqual(got[4], stallsEnd.output - stallsBegin.output, "LAYER_DONE_STALL_OUTPUT of layer \(k)")
            XCTAssertEqual(got[5], pixels[first...run.lastRecord].reduce(0, +), "LAYER_DONE_ENGINE_BEATS of layer \(k)")
            if k > 0 { XCTAssertEqual(got[2], end - begin, "LAYER_DONE_CYCLES of layer \(k): between the trace pulses") }
            for i in 0..<4 { sums[i] += got[2 + i] }
        }
        XCTAssertEqual(sums, [cycles, totals[2], totals[3], totals[4]], "the layers add up to the run's figures")
        XCTAssertGreaterThan(sums[1], 0)
        XCTAssertGreaterThan(sums[2], 0)
        XCTAssertEqual(afterRun, perLayer.last, "after the run the snapshot is the last layer's")
        // The second run: one layer, all of its figures.
        XCTAssertEqual(second[4], 1)
        XCTAssertEqual(second[10], 1)
        XCTAssertEqual(second[5], layers[0])
        XCTAssertEqual(Array(second[6...9]), Array(second[0...3]), "one layer: LAYER_DONE_* equal CYCLES_LO, STALL_*, ENGINE_BEATS")
        XCTAssertEqual(second[9], pixels[0])
    }

    /// The same top with the real ExecutionUnit: a pointwise pass (parameters, weights, a partial
    /// last engine beat) checked against Reference's requantization, then a clipped copy.
    func testRealExecutionUnitConvolvesAndCopies() throws {
        let c = Self.withoutOnChipMemory(AcceleratorTopLintTests.smallConfig())
        let b = c.streamBytes, lanes = max(c.pc, c.pf)
        var memory: [Int: UInt8] = [:]
        func put32(_ a: Int, _ v: Int) { for k in 0..<4 { memory[a + k] = UInt8(truncatingIfNeeded: v >> (8 * k)) } }
        let parameterAddress = 0x3000, weightAddress = 0x2000
        var params: [(bias: Int, multiplier: Int32, shift: Int)] = []
        for f in 0..<lanes {
            let (mult, shift) = FixedPoint.quantizeMultiplier(0.004 + 0.003 * Double(f))
            params.append((bias: 100 * f - 150, multiplier: mult, shift: shift))
            put32(parameterAddress + 16 * f, 100 * f - 150); put32(parameterAddress + 16 * f + 4, Int(mult))
            put32(parameterAddress + 16 * f + 8, shift); put32(parameterAddress + 16 * f + 12, 0)
        }
        var conv = Record(op: 1, mode: 1, first: true, last: true, loadParams: true, layer: 11, regionRows: 2, regionCols: 5,
                          row0: 1, col0: 2, imageRows: 6, imageCols: 8, inputAddress: 0x1_0000, inputPixelStride: 4,
                          inputRowStride: 32, inChunk: 4, fillValue: -3, outChunk: 4, outZeroPoint: 7, weightAddress: weightAddress,
                          weightBeats: (c.pc * c.pf + b - 1) / b, paramRecords: lanes, parameterAddress: parameterAddress,
                          outputAddress: 0x4_0000, outputPixelStride: 4, outputRowStride: 20, outputRows: 2, outputCols: 5)
        conv.actMin = -100; conv.actMax = 110
        let copy = Record(op: 2, layer: 12, regionRows: 2, regionCols: 3, row0: -1, col0: 6, imageRows: 6, imageCols: 8,
                          inputAddress: 0x1_0000, inputPixelStride: 4, inputRowStride: 32, inChunk: 3, fillValue: 9, outChunk: 4,
                          outputAddress: 0x5_0000, outputPixelStride: 4, outputRowStride: 12, outputRows: 2, outputCols: 3)
        let records = [conv, copy]
        let recordBase = 0x9000
        for (n, rec) in records.enumerated() {
            for (k, byte) in rec.bytes(sequence: n).enumerated() { memory[recordBase + 128 * n + k] = byte }
        }
        typealias O = AxiLiteRegisters.Offset
        let ops: [LiteOp] = [.write(O.weightBase, weightAddress), .write(O.weightBeats, conv.weightBeats), .write(O.recordBase, recordBase),
                             .write(O.recordCount, 2), .write(O.control, 3), .waitIrq, .read(O.status), .read(O.recordsDone)]
        let top = try AcceleratorTop(config: c)
        let sim = try Simulator(Design(top: Self.bench(top.module, bytes: b)))
        let result = try controlCosimulate(sim, Bench(memory: memory, b: b, rng: SplitMix(state: 5), ops: ops), maxCycles: 3000,
                                           window: 256)
        let bench = result.bench
        print("AcceleratorTopControlTests (real unit): \(result.cycles) cycles in \(result.runs) simulator runs")

        func signed(_ v: Int) -> Int { v >= 128 ? v - 256 : v }
        var want: [[Int]] = []
        let pixels = Self.expected(conv, memory: memory, b: b).beats.filter { $0.phase == 3 }
        for x in pixels {
            var beat = [Int](repeating: 0, count: b)
            for f in 0..<c.pf {
                var acc = 0
                for ch in 0..<c.pc {
                    acc += signed(Int(Bench.byte(memory, weightAddress + ch * c.pf + f))) * (signed(x.bytes[ch]) - conv.fillValue)
                }
                let y = FixedPoint.requantize(acc: Int32(acc + params[f].bias), multiplier: params[f].multiplier, shift: params[f].shift,
                                              outputZeroPoint: Int32(conv.outZeroPoint), min: Int32(conv.actMin), max: Int32(conv.actMax))
                beat[f] = Int(UInt8(bitPattern: y))
            }
            want.append(beat)
        }
        for x in Self.expected(copy, memory: memory, b: b).beats {
            want.append((0..<b).map { $0 < copy.outChunk ? x.bytes[$0] : 0 })
        }
        XCTAssertEqual(bench.outBeats.count, want.count)
        for (k, (seen, expect)) in zip(bench.outBeats, want).enumerated() where seen != expect {
            XCTFail("output beat \(k): saw \(seen), expected \(expect)")
            break
        }
        XCTAssertEqual(bench.outLasts, [0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1])
        XCTAssertEqual(Set(bench.outKeeps), [(0..<b).map { $0 < copy.outChunk }], "tkeep: the low outChunk (4) lanes")
        XCTAssertEqual(bench.traces, [11, 12])
        XCTAssertEqual(bench.writeCommands.count, 2)
        XCTAssertEqual(bench.reads.map(\.value), [0b010, 2])
    }

    /// ControlUnit.passGapCycles and earlyIssueCycles, measured with a memory that takes commands at
    /// once and answers one cycle after the handshake: a pass's read commands go out while the pass
    /// before it runs (record 1 arrives after pass 0's data, each later one during the pass two
    /// before its own), so from the third pass on a pass's first command follows the previous pass's
    /// start by earlyIssueCycles, and a pass starts fastPassGapCycles after the previous one ended
    /// (`trace_record_done` is end + 1): its record was here, checked and clipped, long before.
    func testCommandsRunAheadOfThePasses() throws {
        let c = Self.withoutOnChipMemory(AcceleratorTopLintTests.smallConfig())
        let b = c.streamBytes
        let pass = Record(op: 1, mode: 1, first: true, last: false, loadParams: true, layer: 1, regionRows: 1, regionCols: 40,
                          row0: 0, col0: 0, imageRows: 1, imageCols: 40, inputAddress: 0x1000, inputPixelStride: 4,
                          inputRowStride: 160, inChunk: 4, fillValue: 0, outChunk: 4, weightAddress: 0x2000, weightBeats: 1,
                          paramRecords: 4, parameterAddress: 0x3000)
        let recordBase = 0x8000, count = 4
        var passes = [Record](repeating: pass, count: count)
        let weightBeats = Self.streamWeights(&passes, base: 0x2000, b: b)
        var memory: [Int: UInt8] = [:]
        for n in 0..<count { for (k, byte) in passes[n].bytes(sequence: n).enumerated() { memory[recordBase + 128 * n + k] = byte } }
        typealias O = AxiLiteRegisters.Offset
        var bench = Bench(memory: memory, b: b, rng: SplitMix(state: 1),
                          ops: [.write(O.weightBase, 0x2000), .write(O.weightBeats, weightBeats), .write(O.recordBase, recordBase),
                                .write(O.recordCount, count), .write(O.control, 3), .waitIrq])
        bench.eager = true
        let sim = try Simulator(Design(top: Self.bench(AcceleratorTop(config: c, executionUnit: Self.standIn(c)).module, bytes: b)))
        let result = try controlCosimulate(sim, bench, maxCycles: 3000, window: 256).bench
        let own = Self.expected(pass, memory: memory, b: b).reads
        XCTAssertEqual(result.readCommands, Self.readOrder(recordBase: recordBase, b: b, count: count, commands: [own, own, own, own]))
        guard result.traceCycles.count == count, result.readCommandCycles.count == count + 2 * count else { return }
        // Commands: R0, pass 0 (2: parameters, pixels), R1, R2, pass 1 (2), R3, pass 2 (2), pass 3 (2).
        let firstOf = [1, 5, 8, 10].map { result.readCommandCycles[$0] }
        let passStart = { (k: Int) in result.traceCycles[k - 1] - 1 + ControlUnit.fastPassGapCycles }
        XCTAssertLessThan(firstOf[1], result.traceCycles[0], "pass 1's commands go out while pass 0 runs")
        XCTAssertEqual(firstOf[2], passStart(1) + ControlUnit.earlyIssueCycles)
        XCTAssertLessThan(firstOf[2], result.traceCycles[1])
        XCTAssertEqual(firstOf[3], passStart(2) + ControlUnit.earlyIssueCycles, "with no record left to fetch")
        print("AcceleratorTopControlTests (run ahead): commands at \(result.readCommandCycles), passes end at \(result.traceCycles)")
    }

    /// Random regions against random images (inside, overlapping any edge, wholly outside), random
    /// chunks, phases and strides: commands, the fill/data beat sequence and the trace.
    func testRandomRegionsAreClippedAndFilled() throws {
        try randomRegions(Self.withoutOnChipMemory(AcceleratorTopLintTests.smallConfig()))
    }

    /// The same at B = 256: a record is one 128-byte beat, and chunks of 129 ... 256 bytes carry
    /// their bit 8 in word 24.
    func testRandomRegionsAreClippedAndFilledAtTwoHundredFiftySixBytes() throws {
        var c = Self.withoutOnChipMemory(AcceleratorTopLintTests.smallConfig())
        c.streamBytes = 256
        try randomRegions(c)
    }

    private func randomRegions(_ c: AcceleratorConfig) throws {
        let b = c.streamBytes
        var rng = SplitMix(state: 0x5EED)
        var records: [Record] = []
        for n in 0..<10 {
            var r = Record()
            r.op = rng.below(2) + 1
            r.mode = rng.below(4)
            r.keep = rng.below(2) == 0; r.replay = rng.below(2) == 0; r.bufferRow0 = rng.below(65536)
            r.first = rng.below(2) == 0; r.last = rng.below(2) == 0
            r.loadParams = rng.below(2) == 0; r.residual = rng.below(2) == 0
            r.layer = n * 1000 + rng.below(1000)
            r.regionRows = rng.below(4) + 1; r.regionCols = rng.below(5) + 1
            r.imageRows = rng.below(6) + 1; r.imageCols = rng.below(6) + 1
            r.row0 = rng.below(8) - 3; r.col0 = rng.below(9) - 4
            r.inChunk = rng.below(b) + 1
            r.inputPixelStride = r.inChunk + rng.below(3); r.inputRowStride = r.inputPixelStride * 8 + rng.below(5)
            r.inputAddress = 0x10_0000 + 0x1000 * n + rng.below(64)
            r.fillValue = rng.below(256) - 128
            r.outChunk = rng.below(b) + 1
            r.weightAddress = 0x20_0000 + 0x100 * n + rng.below(16); r.weightBeats = rng.below(3) + 1
            r.parameterAddress = 0x30_0000 + 0x100 * n; r.paramRecords = rng.below(4) + 1
            r.outputAddress = 0x40_0000 + 0x1000 * n; r.outputPixelStride = r.outChunk; r.outputRowStride = 64
            r.outputRows = rng.below(3) + 1; r.outputCols = rng.below(3) + 1
            r.residualAddress = 0x50_0000 + 0x1000 * n + rng.below(32)
            // A third of the residuals are spans (of them a third kept: no residual phase).
            r.residualSpan = r.residual && rng.below(3) == 0; r.residualKept = r.residualSpan && rng.below(3) == 0
            r.residualOffset = rng.below(256); r.residualBeats = r.residualSpan ? rng.below(4) + 1 : rng.below(65536)
            records.append(r)
        }
        // Besides the draw: one region wholly inside its image, one wholly outside (left of it).
        records[0].row0 = 0; records[0].col0 = 1; records[0].imageRows = 6; records[0].imageCols = 6
        records[1].col0 = -records[1].regionCols
        let weightBeats = Self.streamWeights(&records, base: 0x20_0000, b: b)
        // The draw covers regions wholly outside, partly inside and wholly inside the image.
        let inImage = records.map { r in
            (0..<r.regionRows).filter { (0..<r.imageRows).contains(r.row0 + $0) }.count
                * (0..<r.regionCols).filter { (0..<r.imageCols).contains(r.col0 + $0) }.count
        }
        XCTAssertTrue(inImage.contains(0))
        XCTAssertTrue(zip(inImage, records).contains { $0 > 0 && $0 < $1.regionRows * $1.regionCols })
        XCTAssertTrue(zip(inImage, records).contains { $0 == $1.regionRows * $1.regionCols })
        let recordBase = 0x1000
        var memory: [Int: UInt8] = [:]
        for (n, rec) in records.enumerated() {
            for (k, byte) in rec.bytes(sequence: n).enumerated() { memory[recordBase + 128 * n + k] = byte }
        }
        typealias O = AxiLiteRegisters.Offset
        let ops: [LiteOp] = [.write(O.weightBase, 0x20_0000), .write(O.weightBeats, weightBeats), .write(O.recordBase, recordBase),
                             .write(O.recordCount, records.count), .write(O.control, 3), .waitIrq,
                             .read(O.status), .read(O.recordsDone), .read(O.engineBeats)]
        let sim = try Simulator(Design(top: Self.bench(AcceleratorTop(config: c, executionUnit: Self.standIn(c)).module, bytes: b)))
        let result = try controlCosimulate(sim, Bench(memory: memory, b: b, rng: SplitMix(state: 3), ops: ops), maxCycles: 8000,
                                           window: 384)
        let bench = result.bench
        print("AcceleratorTopControlTests (random regions, B = \(b)): \(result.cycles) cycles in \(result.runs) simulator runs")
        var commands: [[Command]] = [], writes: [Command] = [], beats: [(phase: Int, bytes: [Int])] = []
        for rec in records {
            let e = Self.expected(rec, memory: memory, b: b, perBeat: c.parameterRecordsPerBeat)
            commands.append(e.reads)
            if let w = e.write { writes.append(w) }
            beats += e.beats
        }
        XCTAssertEqual(Self.readOrderErrors(bench.readCommands, recordBase: recordBase, b: b, count: records.count, commands: commands), [])
        XCTAssertEqual(bench.writeCommands, writes)
        let echoed = beats.map { beat in beat.bytes.enumerated().map { $0.offset == b - 1 ? $0.element ^ (beat.phase << 6) : $0.element } }
        XCTAssertEqual(bench.outBeats.count, echoed.count)
        for (k, (seen, want)) in zip(bench.outBeats, echoed).enumerated() where seen != want {
            XCTFail("beat \(k) (phase \(beats[k].phase)): saw \(seen), expected \(want)")
            break
        }
        XCTAssertEqual(bench.traces, records.map { $0.layer & 0xFFFF })
        XCTAssertEqual(bench.reads.map(\.value), [0b010, records.count, beats.filter { $0.phase == 3 }.count])
    }
}

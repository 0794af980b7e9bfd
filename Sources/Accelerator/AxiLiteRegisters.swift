import HDLKit

/// The accelerator's AXI4-Lite register file (32-bit data, 12-bit byte addresses), the register
/// map of docs/control.md.
///
/// Every channel is a full valid/ready handshake. A write needs its address (AW) and its data (W);
/// they may arrive in either order or together, each is held in its own register until the other
/// comes, and the write takes effect in the cycle after both are held. B and R responses are
/// registered and stay valid until accepted; a new address is taken only once the previous
/// response has gone, so one transaction of each kind is in flight at a time. Responses are OKAY:
/// writes to read-only or unknown offsets are ignored, reads of unknown offsets give 0.
///
/// Ports (besides the `s_axil_*` slave):
/// * from the control unit: `busy`, `error` (levels), `run_done` (one cycle when a run ends),
///   and the read-only figures `records_done`, `cycles` (64), `stall_input`, `stall_output`,
///   `engine_beats`, `prune_active`, `current_layer`, `error_record` (32 each), and the last
///   finished layer's snapshot `layers_done`, `layer_done_index`, `layer_done_cycles`,
///   `layer_done_stall_input`, `layer_done_stall_output`, `layer_done_engine_beats` (32 each; see
///   ControlUnit, "Per-layer figures");
/// * from the on-chip memory (OnChipMemory; 0 when there is none): `onchip_read_beats`,
///   `onchip_write_beats`, `onchip_raw_stalls` (32 each);
/// * to it: `start` (one cycle, for a CONTROL write with bit 0 set), `record_base`, `record_count`,
///   `weight_base`, `weight_beats` (the weight stream's, WeightStreamer);
/// * `irq`: high while STATUS.done and CONTROL.irq-enable.
///
/// Latencies: AW and W both accepted in cycle t → register updated and `s_axil_bvalid` high from
/// t+1 (`start` pulses in t+1); AR accepted in t → `s_axil_rvalid` with the data from t+1 (the
/// figures are sampled in t).
public struct AxiLiteRegisters {
    public let config: AcceleratorConfig
    public let module: Module

    /// Register offsets (bytes).
    public enum Offset {
        public static let id = 0x00, config = 0x04, control = 0x08, status = 0x0C, irqAck = 0x10
        public static let recordBase = 0x14, recordCount = 0x18, recordsDone = 0x1C
        public static let cyclesLo = 0x20, cyclesHi = 0x24, stallInput = 0x28, stallOutput = 0x2C
        public static let engineBeats = 0x30, pruneActive = 0x34, currentLayer = 0x38, errorRecord = 0x3C
        /// The last finished layer (read-only): layers finished since start, its `layer` and its figures.
        public static let layersDone = 0x40, layerDoneIndex = 0x44, layerDoneCycles = 0x48
        public static let layerDoneStallInput = 0x4C, layerDoneStallOutput = 0x50, layerDoneEngineBeats = 0x54
        /// RAM-S and RAM-M (read-only): beats moved on chip since start, cycles on-chip reads waited
        /// for earlier writes, and the two memories' sizes in bytes (0 without on-chip memory).
        public static let onChipReadBeats = 0x58, onChipWriteBeats = 0x5C, onChipRawStalls = 0x60
        public static let ramSBytes = 0x64, ramMBytes = 0x68
        /// The weight stream (read-write): its first byte and its length in beats of B bytes.
        public static let weightBase = 0x6C, weightBeats = 0x70
    }

    public static let identification = 0xD5C1_0001

    /// The CONFIG register's value: PC [7:0], PF [15:8], PD [23:16], B [31:24]. B = 256 reads as 0
    /// there (B mod 256), as an 8-bit byte count has no 256; every other B reads as itself.
    public static func configWord(_ c: AcceleratorConfig) -> Int {
        (c.pc & 0xFF) | (c.pf & 0xFF) << 8 | (c.pd & 0xFF) << 16 | (c.streamBytes & 0xFF) << 24
    }

    public static let addressWidth = 12
    public static let dataWidth = 32

    public init(config c: AcceleratorConfig) throws {
        try c.validate()
        config = c
        let configWord = Self.configWord(c)
        module = Module("AxiLiteRegisters_c\(c.pc)_f\(c.pf)_d\(c.pd)_b\(c.streamBytes)_s\(c.ramSBytes / 1024)_m\(c.ramMBytes / 1024)") { m in
            let awvalid = m.input("s_axil_awvalid", .bool)
            let awready = m.output("s_axil_awready", .bool)
            let awaddr = m.input("s_axil_awaddr", .uint(Self.addressWidth))
            let wvalid = m.input("s_axil_wvalid", .bool)
            let wready = m.output("s_axil_wready", .bool)
            let wdata = m.input("s_axil_wdata", .uint(32))
            let wstrb = m.input("s_axil_wstrb", .uint(4))
            let bvalid = m.output("s_axil_bvalid", .bool)
            let bready = m.input("s_axil_bready", .bool)
            m.output("s_axil_bresp", Signal.uint(0, width: 2))
            let arvalid = m.input("s_axil_arvalid", .bool)
            let arready = m.output("s_axil_arready", .bool)
            let araddr = m.input("s_axil_araddr", .uint(Self.addressWidth))
            let rvalid = m.output("s_axil_rvalid", .bool)
            let rready = m.input("s_axil_rready", .bool)
            let rdata = m.output("s_axil_rdata", .uint(32))
            m.output("s_axil_rresp", Signal.uint(0, width: 2))

            let busy = m.input("busy", .bool)
            let error = m.input("error", .bool)
            let runDone = m.input("run_done", .bool)
            let recordsDone = m.input("records_done", .uint(32))
            let cycles = m.input("cycles", .uint(64))
            let stallInput = m.input("stall_input", .uint(32))
            let stallOutput = m.input("stall_output", .uint(32))
            let engineBeats = m.input("engine_beats", .uint(32))
            let pruneActive = m.input("prune_active", .uint(32))
            let currentLayer = m.input("current_layer", .uint(32))
            let errorRecord = m.input("error_record", .uint(32))
            let layersDone = m.input("layers_done", .uint(32))
            let layerDoneIndex = m.input("layer_done_index", .uint(32))
            let layerDoneCycles = m.input("layer_done_cycles", .uint(32))
            let layerDoneStallInput = m.input("layer_done_stall_input", .uint(32))
            let layerDoneStallOutput = m.input("layer_done_stall_output", .uint(32))
            let layerDoneEngineBeats = m.input("layer_done_engine_beats", .uint(32))
            let onChipReadBeats = m.input("onchip_read_beats", .uint(32))
            let onChipWriteBeats = m.input("onchip_write_beats", .uint(32))
            let onChipRawStalls = m.input("onchip_raw_stalls", .uint(32))

            let start = m.output("start", .bool)
            let irq = m.output("irq", .bool)
            let recordBaseOut = m.output("record_base", .uint(32))
            let recordCountOut = m.output("record_count", .uint(32))
            let weightBaseOut = m.output("weight_base", .uint(32))
            let weightBeatsOut = m.output("weight_beats", .uint(32))

            // Write path: address and data each wait in a holding register for the other.
            let awHeld = m.reg("aw_held", .bool, reset: 0)
            let awAddr = m.reg("aw_addr", .uint(Self.addressWidth), reset: 0)
            let wHeld = m.reg("w_held", .bool, reset: 0)
            let wData = m.reg("w_data", .uint(32), reset: 0)
            let wStrb = m.reg("w_strb", .uint(4), reset: 0)
            let bValid = m.reg("b_valid", .bool, reset: 0)
            awready.assign(!awHeld)
            wready.assign(!wHeld)
            bvalid.assign(bValid)
            m.when(awvalid && !awHeld) { awHeld.assign(1); awAddr.assign(awaddr) }
            m.when(wvalid && !wHeld) { wHeld.assign(1); wData.assign(wdata); wStrb.assign(wstrb) }
            let commit = m.wire("write_commit", awHeld && wHeld && !bValid)
            m.when(bValid && bready) { bValid.assign(0) }
            m.when(commit) { awHeld.assign(0); wHeld.assign(0); bValid.assign(1) }

            let writeWord = m.wire("write_word", awAddr.bits(Self.addressWidth - 1, 2))
            func writes(_ offset: Int) -> Signal { commit && writeWord == offset / 4 }
            /// The written word merged into `old` byte lane by byte lane, as `wstrb` says.
            func merged(_ old: Signal) -> Signal {
                cat((0..<4).reversed().map { b in mux(wStrb[b], wData.bits(8 * b + 7, 8 * b), old.bits(8 * b + 7, 8 * b)) })
            }

            let recordBase = m.reg("record_base_q", .uint(32), reset: 0)
            let recordCount = m.reg("record_count_q", .uint(32), reset: 0)
            let weightBase = m.reg("weight_base_q", .uint(32), reset: 0)
            let weightBeats = m.reg("weight_beats_q", .uint(32), reset: 0)
            let irqEnable = m.reg("irq_enable", .bool, reset: 0)
            let done = m.reg("done", .bool, reset: 0)
            let startPulse = m.reg("start_q", .bool, reset: 0)
            startPulse.assign(0)
            m.when(writes(Offset.recordBase)) { recordBase.assign(merged(recordBase)) }
            m.when(writes(Offset.recordCount)) { recordCount.assign(merged(recordCount)) }
            m.when(writes(Offset.weightBase)) { weightBase.assign(merged(weightBase)) }
            m.when(writes(Offset.weightBeats)) { weightBeats.assign(merged(weightBeats)) }
            m.when(writes(Offset.control) && wStrb[0]) {
                irqEnable.assign(wData[1])
                startPulse.assign(wData[0])
            }
            // done is sticky: set when a run ends, cleared by the next start or an acknowledge.
            m.when(runDone) { done.assign(1) }
                .elsewhen(startPulse || (writes(Offset.irqAck) && wStrb[0] && wData[1])) { done.assign(0) }
            start.assign(startPulse)
            irq.assign(done && irqEnable)
            recordBaseOut.assign(recordBase)
            recordCountOut.assign(recordCount)
            weightBaseOut.assign(weightBase)
            weightBeatsOut.assign(weightBeats)

            // Read path: the addressed value is sampled into the R register when AR is accepted.
            let rValid = m.reg("r_valid", .bool, reset: 0)
            let rData = m.reg("r_data", .uint(32), reset: 0)
            arready.assign(!rValid)
            rvalid.assign(rValid)
            rdata.assign(rData)
            let readWord = m.wire("read_word", araddr.bits(Self.addressWidth - 1, 2))
            let zero = Signal.uint(0, width: 32)
            let status = cat(Signal.uint(0, width: 29), error, done, busy)
            let table: [(Int, Signal)] = [
                (Offset.id, .uint(Self.identification, width: 32)),
                (Offset.config, .uint(configWord, width: 32)),
                (Offset.control, cat(Signal.uint(0, width: 30), irqEnable, Signal.false)),
                (Offset.status, status),
                (Offset.recordBase, recordBase),
                (Offset.recordCount, recordCount),
                (Offset.recordsDone, recordsDone),
                (Offset.cyclesLo, cycles.bits(31, 0)),
                (Offset.cyclesHi, cycles.bits(63, 32)),
                (Offset.stallInput, stallInput),
                (Offset.stallOutput, stallOutput),
                (Offset.engineBeats, engineBeats),
                (Offset.pruneActive, pruneActive),
                (Offset.currentLayer, currentLayer),
                (Offset.errorRecord, errorRecord),
                (Offset.layersDone, layersDone),
                (Offset.layerDoneIndex, layerDoneIndex),
                (Offset.layerDoneCycles, layerDoneCycles),
                (Offset.layerDoneStallInput, layerDoneStallInput),
                (Offset.layerDoneStallOutput, layerDoneStallOutput),
                (Offset.layerDoneEngineBeats, layerDoneEngineBeats),
                (Offset.onChipReadBeats, onChipReadBeats),
                (Offset.onChipWriteBeats, onChipWriteBeats),
                (Offset.onChipRawStalls, onChipRawStalls),
                (Offset.ramSBytes, .uint(c.ramSBytes, width: 32)),
                (Offset.ramMBytes, .uint(c.ramMBytes, width: 32)),
                (Offset.weightBase, weightBase),
                (Offset.weightBeats, weightBeats),
            ]
            let readValue = m.wire("read_value", .uint(32))
            readValue.assign(zero)
            m.switch(readWord) { s in
                for (offset, value) in table { s.is(offset / 4) { readValue.assign(value) } }
            }
            m.when(rValid && rready) { rValid.assign(0) }
            m.when(arvalid && !rValid) { rValid.assign(1); rData.assign(readValue) }
            // Word-aligned registers: the byte-offset bits of the addresses are unused on purpose.
            m.discard(awAddr)
            m.discard(araddr)
        }
    }
}

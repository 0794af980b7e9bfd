import HDLKit

/// The control unit of docs/control.md: on `start` it runs `record_count` control records from
/// `record_base`, one pass of the ExecutionUnit each.
///
/// Per record: check magic and op (a bad record stops the run with `error` and `error_record` = its
/// index), clip the region against the image, pulse `pass_start` with the decoded fields on the
/// pass-configuration ports (held until the pass ends), issue whatever read commands of the pass
/// were not issued ahead (params, residual, the in-image part of the pixels; each after the previous
/// command's handshake) and, on `last` passes and copies, the write command. The weights are not
/// among them: each record's set is announced to the WeightStreamer as the record arrives
/// (`set_push`), which streams them on a port of their own. A router
/// hands the `s_axis` beats to the ExecutionUnit's `in_*` in the same phase order; in the pixel
/// phase it walks the region in raster order and merges fill beats (every byte `fill_value`) with
/// the in-image beats, whose bytes at or above `inChunk` it replaces by `fill_value`. The pass ends
/// when every beat was routed, every command accepted, the next record fetched and the unit reported
/// `pass_done`; then `trace_record_done` pulses with `trace_layer`. A run that ends (its last record, or
/// a bad one) first waits, flushing the weight stream (`weights_flush`), until no weight beat is in
/// flight (`weights_idle`), so it leaves nothing behind.
///
/// Why commands run ahead: a memory answers a read only `latency` cycles after the command, and a
/// pass that waited for its own commands would pay that latency every time (14,762 passes in
/// MobileNetV2). So while pass k runs, the unit already holds record k+1 and issues pass k+1's read
/// commands: their beats queue behind pass k's and are there when pass k+1 starts. That needs
/// record k+1 before pass k's data ends on the one in-order data stream. A record fetched just
/// before pass k+1's commands would lie between pass k's data and pass k+1's, and pass k+1's
/// on-chip data (a few cycles' latency) would wait there for the external record's latency
/// (MobileNetV2's 7×7 passes of 49 on-chip beats took 55 and 65 cycles in turn). So records are
/// fetched up to `recordsAhead` (eight) ahead, behind the next pass's commands: during pass k, pass
/// k+1's commands go out, then the fetches of the records up to k+8 not yet fetched (usually one),
/// whose beats follow pass k+1's data into the record queue; those fetched during pass k−1 lie
/// between pass k's data and pass k+1's and had a whole pass for their latency. The order on
/// `s_axis` is therefore: the running pass's data, the records fetched in the pass before, the next
/// pass's data (which waits, `s_axis_tready` low, until that pass starts). A fetch of record k+1 or
/// k+2 the passes before did not get to (short passes) is late: it goes out before the next pass's
/// commands, and a pass takes the beats of fetches issued before its data first (`stale_fetches`).
/// Before a bad record, the pass waits for every fetch, so a run that stops leaves nothing in
/// flight.
///
/// Timing: from the cycle a pass ends to the next `pass_start` is `fastPassGapCycles` where the
/// next record was checked and clipped while the pass ran, else `passGapCycles` (check, clamp,
/// offsets, pass start). Pass k+1's first command is issued `earlyIssueCycles` after pass k's start
/// when pass k had no commands of its own left (every pass but the first two), so its first beat is
/// there from pass k's start + earlyIssueCycles + the memory's latency. The first record costs
/// 3 cycles + the memory's latency + 128/B beats more; the second pass's commands wait for
/// record 1, which follows the first pass's data. The `s_axis` → `in_*` and `in_ready` →
/// `s_axis_tready` paths are combinational (no buffering, no bubbles within a phase).
///
/// Figures (cleared at start): `cycles` busy, `stall_input` (s_axis_tready && !s_axis_tvalid: a
/// phase wanted a beat that memory did not have), `stall_output` (output_valid && !output_ready),
/// `engine_beats` (the unit's `engine_beat`), `records_done`; `current_layer` is the running
/// record's `layer`; `prune_active` is the low 32 bits of the unit's `activity` (never cleared).
///
/// Per-layer figures: a layer is a run of consecutive records with the same `layer`. The unit counts
/// the same four events (busy cycles, input stalls, output stalls, engine beats; 32 bits each) for
/// the layer running and clears them where a layer ends: in the cycle its last record's pass ends
/// (the cycle before `trace_record_done`), when the next record has another `layer`, is not runnable
/// (the run then stops at it with `error`) or the run has no more records. In that cycle the layer's
/// counts including the cycle are latched into `layer_done_cycles`, `layer_done_stall_input`,
/// `layer_done_stall_output`, `layer_done_engine_beats`, its `layer` into `layer_done_index`, and
/// `layers_done` (layers finished in this run) counts up. The cycles from one layer's last pass end
/// to the next layer's `pass_start` (its record's check, clip and pass start) count for the next layer,
/// the first layer's from the start (the first record's fetch), so every busy cycle of a run counts
/// in exactly one layer and the layers' cycles add up to `cycles` (likewise for the other three),
/// except in a run that stops at a bad record, whose cycles after the last finished layer are in no
/// snapshot. A layer's cycles (but the first's) therefore equal the distance between the
/// `trace_record_done` pulses of its last record and the previous layer's last record. All are
/// cleared at start.
public struct ControlUnit {
    public let config: AcceleratorConfig
    public let module: Module

    /// Cycles from a pass's end to the next `pass_start` when the next record has arrived by then
    /// but must still be checked and clipped (check, clamp, offsets, pass start).
    public static let passGapCycles = 4
    /// The same when the record arrived `earlyClipCycles` or more before the end: it was checked and
    /// clipped while the pass ran, so the next pass starts in the cycle after the end.
    public static let fastPassGapCycles = 1
    /// Cycles the early clip of the next record takes once it has arrived (clip, clamp, offsets,
    /// address).
    public static let earlyClipCycles = 4
    /// Cycles from a pass's start (`pass_start`) to the first read command of the pass after it
    /// (`m_rd_cmd_valid`), when that pass's record is already here: the next record's clip takes
    /// five steps from the pass's first cycle, then the command is registered. A record fetch and
    /// the pass's own commands go out meanwhile, 2 cycles each, and delay it only when there are
    /// more than two of them.
    public static let earlyIssueCycles = 7
    /// Records fetched past the running one, at most: the next pass's record must be here for its
    /// commands to go out early, and the one after it on its way (`lateFetchAhead`); the others'
    /// fetches go out behind the next pass's commands, as many as the pass has issue slots for, so
    /// they never sit between the next pass's data and the pass. Eight: with their weights in the
    /// weight buffer MobileNetV2's FC passes take 6 to 15 cycles, and a record fetched three ahead
    /// came a latency (64 cycles) late every third pass.
    public static let recordsAhead = 8
    /// Records past the running one whose fetch is late if not yet issued: it goes before the next
    /// pass's commands, so the next pass's data waits behind it for the memory's latency. Only the
    /// two that the next passes need: a pass too short to fetch ahead (FC's 6-cycle passes) leaves
    /// the others to the next pass's fetches ahead instead of making the pass after it wait
    /// (MobileNetV2's FC: 13,984 cycles against 16,224 with every fetch short of eight late).
    public static let lateFetchAhead = 2

    /// Phases of a pass on the data stream, in their order; the value is the ExecutionUnit's
    /// `in_phase` (1 was the weights', which have their own stream now: WeightStreamer).
    public enum Phase: Int, CaseIterable {
        case params = 0, residual = 2, pixels = 3
        /// Its place in the per-phase flags.
        var index: Int { Phase.allCases.firstIndex(of: self)! }
    }

    enum State: Int { case idle = 0, fetchCommand, fetchData, load, check, clamp, offsets, startPass, pass, drain }

    /// A record's region clipped against its image, and the address of its first in-image
    /// position, computed over four steps (`clip`, `clamp`, `offsets`, `address`). The running pass
    /// has one, the next record another, so the next pass's commands can go out early.
    struct Clip {
        let rowLo, colLo, rowHi, colHi, rowFirst, rowEnd, colFirst, colEnd, rowOffset, colOffset, pixelAddress: Signal
        let rowsIn, colsIn: Signal
        /// Parameter records per params beat (AcceleratorConfig.parameterRecordsPerBeat, a power of two).
        let paramsPerBeat: Int

        init(_ m: Module, prefix p: String, paramsPerBeat: Int) {
            self.paramsPerBeat = paramsPerBeat
            rowLo = m.reg("\(p)row_lo", .sint(17), reset: 0)
            colLo = m.reg("\(p)col_lo", .sint(17), reset: 0)
            rowHi = m.reg("\(p)row_hi", .sint(18), reset: 0)
            colHi = m.reg("\(p)col_hi", .sint(18), reset: 0)
            rowFirst = m.reg("\(p)row_first", .uint(16), reset: 0)
            rowEnd = m.reg("\(p)row_end", .uint(16), reset: 0)
            colFirst = m.reg("\(p)col_first", .uint(16), reset: 0)
            colEnd = m.reg("\(p)col_end", .uint(16), reset: 0)
            rowOffset = m.reg("\(p)row_offset", .uint(32), reset: 0)
            colOffset = m.reg("\(p)col_offset", .uint(32), reset: 0)
            pixelAddress = m.reg("\(p)pixel_address", .uint(32), reset: 0)
            rowsIn = m.wire("\(p)rows_in", rowEnd &- rowFirst)
            colsIn = m.wire("\(p)cols_in", colEnd &- colFirst)
        }

        /// Beats of the params phase: ceil(paramRecords / paramsPerBeat).
        func paramBeats(_ f: ControlRecordFields) -> Signal {
            guard paramsPerBeat > 1 else { return f.paramRecords }
            let shift = addressWidth(paramsPerBeat)
            let rounded = f.paramRecords.extend(to: 17) &+ Signal.uint(paramsPerBeat - 1, width: 17)
            return rounded.bits(16, shift).extend(to: 16)
        }

        private static func minimum(_ a: Signal, _ b: Signal) -> Signal { mux(a < b, a, b) }
        private static func maximum(_ a: Signal, _ b: Signal) -> Signal { mux(a < b, b, a) }

        /// The in-image index range [lo, hi) of region indices 0 ..< extent whose image coordinate
        /// origin + i lies in [0, size): lo = max(0, −origin), hi = min(extent, size − origin).
        func clip(_ f: ControlRecordFields) {
            func range(_ origin: Signal, _ size: Signal, _ extent: Signal, lo: Signal, hi: Signal) {
                lo.assign(mux(origin < 0, -origin, Signal.sint(0, width: 17)))
                hi.assign(Self.minimum(extent.toSigned.extend(to: 18), size.toSigned - origin))
            }
            range(f.regionRow0, f.imageRows, f.regionRows, lo: rowLo, hi: rowHi)
            range(f.regionCol0, f.imageCols, f.regionCols, lo: colLo, hi: colHi)
        }

        /// [lo, hi) clamped into [0, extent] with lo ≤ hi; both then fit 16 bits unsigned.
        func clamp(_ f: ControlRecordFields) {
            func one(lo: Signal, hi: Signal, extent: Signal, first: Signal, end: Signal) {
                let l = Self.minimum(lo.extend(to: 18), extent.toSigned.extend(to: 18))
                let h = Self.maximum(l, hi)
                first.assign(l.asUnsigned.truncate(to: 16))
                end.assign(h.asUnsigned.truncate(to: 16))
            }
            one(lo: rowLo, hi: rowHi, extent: f.regionRows, first: rowFirst, end: rowEnd)
            one(lo: colLo, hi: colHi, extent: f.regionCols, first: colFirst, end: colEnd)
        }

        /// The first in-image position's image coordinates: max(0, origin), times the strides.
        func offsets(_ f: ControlRecordFields) {
            func imageFirst(_ origin: Signal) -> Signal { mux(origin < 0, Signal.uint(0, width: 16), origin.asUnsigned) }
            rowOffset.assign((imageFirst(f.regionRow0) * f.inputRowStride).truncate(to: 32))
            colOffset.assign((imageFirst(f.regionCol0) * f.inputPixelStride).truncate(to: 32))
        }

        func address(_ f: ControlRecordFields) { pixelAddress.assign(f.inputAddress &+ rowOffset &+ colOffset) }

        /// Takes over another clip's registers (the next record's, computed while a pass ran).
        func load(_ other: Clip) {
            for (mine, theirs) in zip(registers, other.registers) { mine.assign(theirs) }
        }

        private var registers: [Signal] {
            [rowLo, colLo, rowHi, colHi, rowFirst, rowEnd, colFirst, colEnd, rowOffset, colOffset, pixelAddress]
        }

        /// The read command of each phase: address, chunk, count1, stride1, count2, stride2.
        func commands(_ f: ControlRecordFields, beat b: Int) -> [[Signal]] {
            let cw = f.inChunk.width
            return [
                [f.parameterAddress, .uint(16 * paramsPerBeat, width: cw), paramBeats(f), .uint(16 * paramsPerBeat, width: 32),
                 .uint(1, width: 16), .uint(0, width: 32)],
                // Per position, or as a span: `residualBeats` whole B-byte beats from the address.
                [f.residualAddress, mux(f.residualSpan, Signal.uint(b, width: cw), f.outChunk),
                 mux(f.residualSpan, f.residualBeats, f.outputCols), mux(f.residualSpan, Signal.uint(b, width: 32), f.outputPixelStride),
                 mux(f.residualSpan, Signal.uint(1, width: 16), f.outputRows), mux(f.residualSpan, Signal.uint(0, width: 32), f.outputRowStride)],
                [pixelAddress, f.inChunk, colsIn, f.inputPixelStride, rowsIn, f.inputRowStride],
            ]
        }

        /// Which phases read memory: params, residual, the in-image pixels.
        func wants(_ f: ControlRecordFields) -> [Signal] {
            let writes = f.op == ControlRecordFields.opCopy || f.last
            return [
                f.loadParams && f.paramRecords != 0,
                f.residual && writes && !f.residualKept && mux(f.residualSpan, f.residualBeats != 0, f.outputCols != 0 && f.outputRows != 0),
                rowsIn != 0 && colsIn != 0,
            ]
        }
    }

    public init(config c: AcceleratorConfig) throws {
        try c.validate()
        config = c
        let b = c.streamBytes
        let cw = c.chunkWidth
        // A record is 128 bytes: 128 / B beats, or one partial beat where B = 256.
        let recordBeats = max(1, ControlRecordFields.recordBytes / b)
        let recordChunk = min(b, ControlRecordFields.recordBytes)
        func recordCommand(_ address: Signal) -> [Signal] {
            [address, .uint(recordChunk, width: cw), .uint(recordBeats, width: 16), .uint(recordChunk, width: 32), .uint(1, width: 16), .uint(0, width: 32)]
        }
        let wordsPerBeat = b / 4
        module = Module("ControlUnit_b\(b)") { m in
            // Registers' side.
            let start = m.input("start", .bool)
            let recordBase = m.input("record_base", .uint(32))
            let recordCount = m.input("record_count", .uint(32))
            // Memory side.
            let rdValidOut = m.output("m_rd_cmd_valid", .bool)
            let rdReady = m.input("m_rd_cmd_ready", .bool)
            let rdAddress = m.reg("m_rd_cmd_address_q", .uint(32), reset: 0)
            let rdChunk = m.reg("m_rd_cmd_chunk_q", .uint(cw), reset: 0)
            let rdCount1 = m.reg("m_rd_cmd_count1_q", .uint(16), reset: 0)
            let rdStride1 = m.reg("m_rd_cmd_stride1_q", .uint(32), reset: 0)
            let rdCount2 = m.reg("m_rd_cmd_count2_q", .uint(16), reset: 0)
            let rdStride2 = m.reg("m_rd_cmd_stride2_q", .uint(32), reset: 0)
            m.output("m_rd_cmd_address", rdAddress)
            m.output("m_rd_cmd_chunk", rdChunk)
            m.output("m_rd_cmd_count1", rdCount1)
            m.output("m_rd_cmd_stride1", rdStride1)
            m.output("m_rd_cmd_count2", rdCount2)
            m.output("m_rd_cmd_stride2", rdStride2)
            let sValid = m.input("s_axis_tvalid", .bool)
            let sReady = m.output("s_axis_tready", .bool)
            let sBytes = m.inputs("s_axis_byte", count: b, .uint(8))
            let sLast = m.input("s_axis_tlast", .bool)
            let wrValidOut = m.output("m_wr_cmd_valid", .bool)
            let wrReady = m.input("m_wr_cmd_ready", .bool)

            let state = m.reg("state", .uint(4), reset: State.idle.rawValue)
            func inState(_ s: State) -> Signal { state == s.rawValue }

            // Record buffers, words 0 ... 28 each: the running pass's (its fields hold until it
            // ends) and a queue of the `recordsAhead` records after it, the next one first (see
            // "Why commands run ahead"). Records arrive in order, so the valid flags are a prefix.
            let words = (0..<ControlRecordFields.usedWords).map { m.reg("record_w\($0)", .uint(32), reset: 0) }
            let queueNames = ["next"] + (1 ..< Self.recordsAhead).map { $0 == 1 ? "ahead" : "ahead\($0)" }
            let queue = queueNames.map { name in (0..<ControlRecordFields.usedWords).map { m.reg("\(name)_record_w\($0)", .uint(32), reset: 0) } }
            let queueValid = queueNames.map { m.reg("\($0)_valid", .bool, reset: 0) }
            let nextWords = queue[0], nextValid = queueValid[0]
            let f = ControlRecordFields(words: words, chunkWidth: cw)
            let nf = ControlRecordFields(words: nextWords, chunkWidth: cw)
            let isConv = m.wire("is_conv", f.op == ControlRecordFields.opConv)
            let isCopy = m.wire("is_copy", f.op == ControlRecordFields.opCopy)
            let writes = m.wire("writes_results", isCopy || f.last)
            let nextRunnable = m.wire("next_runnable", nf.magic == ControlRecordFields.magic
                                      && (nf.op == ControlRecordFields.opConv || nf.op == ControlRecordFields.opCopy))

            // Write command: the record's output geometry, offered from the pass's start.
            let wrValid = m.reg("wr_valid", .bool, reset: 0)
            wrValidOut.assign(wrValid)
            m.output("m_wr_cmd_address", f.outputAddress)
            m.output("m_wr_cmd_chunk", f.outChunk)
            m.output("m_wr_cmd_count1", f.outputCols)
            m.output("m_wr_cmd_stride1", f.outputPixelStride)
            m.output("m_wr_cmd_count2", f.outputRows)
            m.output("m_wr_cmd_stride2", f.outputRowStride)
            m.when(wrValid && wrReady) { wrValid.assign(0) }

            // ExecutionUnit side.
            let slots = c.pointwiseSlices > 1 ? c.wideSlots : 0
            for (name, value) in f.executionPorts(isCopy: isCopy, slots: slots, singleSlice: c.hasSingleSliceSlots, oneTap: c.foldTaps > 1,
                                                           positions: c.depthwiseSlices > 1) {
                m.output(name, value)
            }
            m.output("pass_start", inState(.startPass))
            let inValid = m.output("in_valid", .bool)
            let inReady = m.input("in_ready", .bool)
            let inPhase = m.output("in_phase", .uint(2))
            let inBytes = m.outputs("in_byte", count: b, .sint(8))
            let passDone = m.input("pass_done", .bool)
            let engineBeat = m.input("engine_beat", .bool)
            let activity = m.input("activity", .uint(48))
            let outputValid = m.input("output_valid", .bool)
            let outputReady = m.input("output_ready", .bool)

            // Run bookkeeping.
            let recordIndex = m.reg("record_index", .uint(32), reset: 0)
            let fetchIndex = m.reg("fetch_index", .uint(32), reset: 0)
            let fetchAddress = m.reg("fetch_address", .uint(32), reset: 0)
            // Fetches in flight, counted by where their beats are on the stream: `older` ahead of
            // the next pass's data (issued before its commands), `younger` behind it.
            let countWidth = addressWidth(Self.recordsAhead + 1)
            let olderFetches = m.reg("older_fetches", .uint(countWidth), reset: 0)
            let youngerFetches = m.reg("younger_fetches", .uint(countWidth), reset: 0)
            let fetchesPending = m.wire("fetches_pending", olderFetches &+ youngerFetches)
            let fetchBeat = m.reg("fetch_beat", .uint(addressWidth(recordBeats)), reset: 0)
            // Fetches in flight that were issued before this pass's data commands (in a pass
            // before), so their beats come first.
            let staleFetches = m.reg("stale_fetches", .uint(countWidth), reset: 0)
            let error = m.reg("error_q", .bool, reset: 0)
            let errorRecord = m.reg("error_record_q", .uint(32), reset: 0)
            let runDone = m.reg("run_done_q", .bool, reset: 0)
            let traceDone = m.reg("trace_done_q", .bool, reset: 0)
            let traceLayer = m.reg("trace_layer_q", .uint(16), reset: 0)
            let currentLayer = m.reg("current_layer_q", .uint(32), reset: 0)
            let passDoneSeen = m.reg("pass_done_seen", .bool, reset: 0)
            runDone.assign(0)
            traceDone.assign(0)

            let clip = Clip(m, prefix: "", paramsPerBeat: c.parameterRecordsPerBeat)
            let early = Clip(m, prefix: "next_", paramsPerBeat: c.parameterRecordsPerBeat)

            // Phase bookkeeping: the running pass's commands still to issue and beats still to
            // route; the next pass's commands still to issue early, and those already issued.
            let phases = Phase.allCases.count
            let needCommand = m.regs("need_command", count: phases, .bool, reset: 0)
            let needData = m.regs("need_data", count: phases, .bool, reset: 0)
            let earlyNeed = m.regs("early_need", count: phases, .bool, reset: 0)
            let earlyIssued = m.regs("early_issued", count: phases, .bool, reset: 0)
            let earlyStep = m.reg("early_step", .uint(3), reset: 0)
            let rdValid = m.reg("rd_valid", .bool, reset: 0)
            rdValidOut.assign(rdValid)
            m.when(rdValid && rdReady) { rdValid.assign(0) }

            let commandTargets = [rdAddress, rdChunk, rdCount1, rdStride1, rdCount2, rdStride2]
            let ownCommands = clip.commands(f, beat: b), earlyCommands = early.commands(nf, beat: b)
            // Records are fetched in order, at most `recordsAhead` past the running one, and only
            // while the weight streamer has room for the sets they may announce (always, with
            // `recordsAhead` + 1 records held). A fetch at most `lateFetchAhead` past the running
            // record is late (the passes before did not get to it) and goes before the next pass's
            // commands; the others go behind them, so their latency runs while the next pass's data
            // streams, and the passes after find them there.
            let setsHeld = m.input("sets_held", .uint(addressWidth(WeightStreamer.setDepth + 1)))
            let setRoom = m.wire("set_room", .bool)   // assigned where the announcements are made
            let canFetch = fetchIndex < recordCount && setRoom
            let earlyLeft = earlyNeed.dropFirst().reduce(earlyNeed[0]) { $0 || $1 }
            let lateFetch = m.wire("late_fetch", canFetch && fetchIndex <= recordIndex &+ Self.lateFetchAhead)
            let aheadFetch = m.wire("ahead_fetch", canFetch && fetchIndex <= recordIndex &+ Self.recordsAhead && earlyStep == 5 && !earlyLeft)
            // No command goes out in the cycle the pass ends: where a fetch lies on the stream
            // relative to the next pass's data is settled at the switch.
            let passEnds = m.wire("pass_ends", .bool)   // assigned in the sequencer
            let issueSlot = m.wire("issue_slot", inState(.pass) && !rdValid && !passEnds)
            let ownLeft = needCommand.dropFirst().reduce(needCommand[0]) { $0 || $1 }
            let issueFetch = m.wire("issue_fetch", issueSlot && !ownLeft && (lateFetch || aheadFetch))
            // A fetch issued after the next pass's commands lies behind its data.
            let issuedBehind = m.wire("fetch_behind_next", earlyIssued.dropFirst().reduce(earlyIssued[0]) { $0 || $1 })
            m.when(issueSlot) {
                // Priority: the running pass's own commands, a late record fetch, the next pass's
                // commands, each in phase order, then the fetch ahead (`when` chains keep the
                // priority), so the stream carries this pass's data, the next pass's data and the
                // record fetched ahead, in that order.
                var chain: WhenContext?
                func add(_ condition: Signal, _ body: @escaping () -> Void) {
                    chain = chain.map { $0.elsewhen(condition, body) } ?? m.when(condition, body)
                }
                func fetch() {
                    for (target, value) in zip(commandTargets, recordCommand(fetchAddress)) { target.assign(value) }
                    rdValid.assign(1)
                    fetchIndex.assign(fetchIndex &+ 1)
                    fetchAddress.assign(fetchAddress &+ ControlRecordFields.recordBytes)
                }
                for p in Phase.allCases.map(\.index) {
                    add(needCommand[p]) {
                        for (target, value) in zip(commandTargets, ownCommands[p]) { target.assign(value) }
                        rdValid.assign(1)
                        needCommand[p].assign(0)
                    }
                }
                add(lateFetch, fetch)
                for p in Phase.allCases.map(\.index) {
                    add(earlyNeed[p]) {
                        for (target, value) in zip(commandTargets, earlyCommands[p]) { target.assign(value) }
                        rdValid.assign(1)
                        earlyNeed[p].assign(0)
                        earlyIssued[p].assign(1)
                    }
                }
                add(aheadFetch, fetch)
            }

            // The next record's clip, once it is here and the running pass is under way.
            m.when(inState(.pass)) {
                m.when(earlyStep == 0) {
                    m.when(nextValid && nextRunnable) {
                        early.clip(nf)
                        earlyStep.assign(1)
                    }
                }.elsewhen(earlyStep == 1) {
                    early.clamp(nf)
                    earlyStep.assign(2)
                }.elsewhen(earlyStep == 2) {
                    early.offsets(nf)
                    earlyStep.assign(3)
                }.elsewhen(earlyStep == 3) {
                    early.address(nf)
                    earlyStep.assign(4)
                }.elsewhen(earlyStep == 4) {
                    for (need, want) in zip(earlyNeed, early.wants(nf)) { need.assign(want) }
                    earlyStep.assign(5)
                }
            }

            // The beat router.
            let anyData = m.wire("any_data", needData.dropFirst().reduce(needData[0]) { $0 || $1 })
            let phase = m.wire("phase", mux(needData[Phase.params.index], Signal.uint(Phase.params.rawValue, width: 2),
                                           mux(needData[Phase.residual.index], Signal.uint(Phase.residual.rawValue, width: 2),
                                               Signal.uint(Phase.pixels.rawValue, width: 2))))
            let beatI = m.reg("beat_i", .uint(16), reset: 0)
            let beatJ = m.reg("beat_j", .uint(16), reset: 0)
            let extent1 = m.wire("extent1", select(phase, [clip.paramBeats(f), .uint(1, width: 16),
                                                           mux(f.residualSpan, f.residualBeats, f.outputCols), f.regionCols]))
            let extent2 = m.wire("extent2", select(phase, [.uint(1, width: 16), .uint(1, width: 16),
                                                           mux(f.residualSpan, Signal.uint(1, width: 16), f.outputRows), f.regionRows]))
            let pixelPhase = m.wire("pixel_phase", phase == Phase.pixels.rawValue)
            let inImage = m.wire("in_image", beatJ >= clip.rowFirst && beatJ < clip.rowEnd && beatI >= clip.colFirst && beatI < clip.colEnd)
            let isFill = m.wire("is_fill", pixelPhase && !inImage)
            // Beats from the stream wait until the stale fetches' records are off it; fill beats
            // (a replayed pass's, a padding row's) need nothing from it and go meanwhile.
            let routing = m.wire("routing", anyData && (staleFetches == 0 || isFill))
            inValid.assign(routing && (isFill || sValid))
            inPhase.assign(phase)
            for (i, out) in inBytes.enumerated() {
                let replaced = isFill || (pixelPhase && f.inChunk <= i)
                out.assign(mux(replaced, f.fillValue, sBytes[i].asSigned))
            }
            // Record beats: the first record's fetch, fetches left over from the passes before, or,
            // once the pass's beats are all routed, those ahead of the next pass's data (the younger
            // ones come after it, in the next pass). Each fills the first free buffer of the queue.
            let prefetching = m.wire("prefetching", inState(.pass) && (staleFetches != 0 || (!anyData && olderFetches != 0)))
            let fetching = m.wire("fetching", inState(.fetchData) || prefetching)
            sReady.assign(fetching || (routing && !isFill && inReady))
            let into = queueValid.indices.map { i in
                m.wire("into_\(queueNames[i])", queueValid[..<i].reduce(!queueValid[i]) { $0 && $1 })
            }
            m.when(fetching && sValid) {
                for w in 0 ..< ControlRecordFields.usedWords {
                    let lane = w % wordsPerBeat
                    m.when(fetchBeat == w / wordsPerBeat) {
                        let value = cat(sBytes[4 * lane + 3], sBytes[4 * lane + 2], sBytes[4 * lane + 1], sBytes[4 * lane])
                        for (buffer, target) in zip(queue, into) { m.when(target) { buffer[w].assign(value) } }
                    }
                }
                m.when(fetchBeat == recordBeats - 1) {
                    fetchBeat.assign(0)
                    m.when(prefetching) {
                        for (valid, target) in zip(queueValid, into) { m.when(target) { valid.assign(1) } }
                    }.otherwise { state.assign(State.load.rawValue) }
                }.otherwise { fetchBeat.assign(fetchBeat &+ 1) }
            }
            // The weight stream (WeightStreamer) is cut into sets by these announcements: each record's
            // set (its weight beats and layout), in record order, in the cycle after the record is in.
            let recordArrived = m.reg("record_arrived", next: fetching && sValid && fetchBeat == recordBeats - 1, reset: 0)
            // Where it landed (the queue shifts only in a cycle without a record beat, so it is still there).
            let slotWidth = addressWidth(Self.recordsAhead)
            let landing = into.indices.dropFirst().reduce(Signal.uint(0, width: slotWidth)) { mux(into[$1], Signal.uint($1, width: slotWidth), $0) }
            let arrivedSlot = m.reg("record_arrived_slot", next: landing, reset: 0)
            let arrivedWord0 = m.wire("arrived_word0", select(arrivedSlot, queue.map { $0[0] }))
            let arrivedBeats = m.wire("arrived_weight_beats", select(arrivedSlot, queue.map { $0[10] }).bits(15, 0))
            let arrivedConv = arrivedWord0.bits(31, 24) == ControlRecordFields.magic && arrivedWord0.bits(3, 0) == ControlRecordFields.opConv
            m.output("set_push", recordArrived && arrivedConv && arrivedBeats != 0)
            // Sets held, fetches in flight and the announcement on its way each may take a place.
            let roomWidth = addressWidth(2 * WeightStreamer.setDepth)   // the sum at its most fits
            setRoom.assign(setsHeld.extend(to: roomWidth) &+ fetchesPending.extend(to: roomWidth) &+ recordArrived.extend(to: roomWidth) < WeightStreamer.setDepth)
            m.output("set_beats", arrivedBeats)
            m.output("set_mode", arrivedWord0.bits(5, 4))
            m.output("set_wide", arrivedWord0[18])
            m.output("weights_clear", inState(.fetchCommand))
            let weightsIdle = m.input("weights_idle", .bool)
            m.output("weights_flush", inState(.drain))
            let fetchArrives = m.wire("fetch_arrives", prefetching && sValid && fetchBeat == recordBeats - 1)
            // A fetch issued and a record arriving in the same cycle both count. Records arrive
            // oldest first; the switch to the next pass re-sorts the counts (in the sequencer
            // below, where no fetch is issued and none arrives).
            olderFetches.assign(olderFetches &+ (issueFetch && !issuedBehind).extend(to: countWidth)
                                &- (fetchArrives && olderFetches != 0).extend(to: countWidth))
            youngerFetches.assign(youngerFetches &+ (issueFetch && issuedBehind).extend(to: countWidth)
                                  &- (fetchArrives && olderFetches == 0).extend(to: countWidth))
            m.when(fetchArrives && staleFetches != 0) { staleFetches.assign(staleFetches &- 1) }
            let routed = m.wire("beat_routed", routing && (isFill || sValid) && inReady)
            m.when(routed) {
                m.when(beatI == extent1 &- 1) {
                    beatI.assign(0)
                    m.when(beatJ == extent2 &- 1) {
                        beatJ.assign(0)
                        for p in Phase.allCases { m.when(phase == p.rawValue) { needData[p.index].assign(0) } }
                    }.otherwise { beatJ.assign(beatJ &+ 1) }
                }.otherwise { beatI.assign(beatI &+ 1) }
            }

            // Figures.
            let busy = m.wire("busy_w", !inState(.idle))
            let cycles = m.reg("cycles_q", .uint(64), reset: 0)
            let stallInput = m.reg("stall_input_q", .uint(32), reset: 0)
            let stallOutput = m.reg("stall_output_q", .uint(32), reset: 0)
            let engineBeats = m.reg("engine_beats_q", .uint(32), reset: 0)
            let recordsDone = m.reg("records_done_q", .uint(32), reset: 0)
            m.when(busy) { cycles.assign(cycles &+ 1) }
            let inputStalled = m.wire("input_stalled", busy && sReady && !sValid)
            let outputStalled = m.wire("output_stalled", busy && outputValid && !outputReady)
            let engineBeatCounted = m.wire("engine_beat_counted", busy && engineBeat)
            m.when(inputStalled) { stallInput.assign(stallInput &+ 1) }
            m.when(outputStalled) { stallOutput.assign(stallOutput &+ 1) }
            m.when(engineBeatCounted) { engineBeats.assign(engineBeats &+ 1) }
            // The same events for the layer running (cleared where a layer ends, in the pass case
            // below), and the finished layer's snapshot.
            let layerCycles = m.reg("layer_cycles_q", .uint(32), reset: 0)
            let layerStallInput = m.reg("layer_stall_input_q", .uint(32), reset: 0)
            let layerStallOutput = m.reg("layer_stall_output_q", .uint(32), reset: 0)
            let layerEngineBeats = m.reg("layer_engine_beats_q", .uint(32), reset: 0)
            let layerCounters = [(layerCycles, busy), (layerStallInput, inputStalled), (layerStallOutput, outputStalled),
                                 (layerEngineBeats, engineBeatCounted)]
            let layersDone = m.reg("layers_done_q", .uint(32), reset: 0)
            let layerDoneIndex = m.reg("layer_done_index_q", .uint(32), reset: 0)
            let layerDoneCycles = m.reg("layer_done_cycles_q", .uint(32), reset: 0)
            let layerDoneStallInput = m.reg("layer_done_stall_input_q", .uint(32), reset: 0)
            let layerDoneStallOutput = m.reg("layer_done_stall_output_q", .uint(32), reset: 0)
            let layerDoneEngineBeats = m.reg("layer_done_engine_beats_q", .uint(32), reset: 0)
            let layerSnapshot = [layerDoneCycles, layerDoneStallInput, layerDoneStallOutput, layerDoneEngineBeats]
            for (counter, event) in layerCounters { m.when(event) { counter.assign(counter &+ 1) } }

            // A pass ends when its data is routed, its commands are out, its results are written
            // (from the cycle `pass_done` comes: it is registered already) and the next record is
            // here; records further ahead may still be on their way (they are then the next pass's
            // stale fetches), but none half received: the buffer it lands in changes with the
            // switch. A run's bad record waits for every fetch.
            let passDoneNow = m.wire("pass_done_now", passDoneSeen || passDone)
            let commandsOut = needCommand.reduce(rdValid) { $0 || $1 }
            let nextHere = mux(nextValid, nextRunnable || fetchesPending == 0, recordIndex &+ 1 == recordCount)
            let noRecordBeat = !(fetching && sValid) && fetchBeat == 0
            passEnds.assign(inState(.pass) && !anyData && !commandsOut && !wrValid && passDoneNow && nextHere && noRecordBeat)

            // The sequencer.
            m.switch(state) { s in
                s.is(State.idle.rawValue) {
                    m.when(start) {
                        for r in [cycles, stallInput, stallOutput, engineBeats, recordsDone] { r.assign(0) }
                        for r in layerCounters.map(\.0) + layerSnapshot + [layersDone, layerDoneIndex] { r.assign(0) }
                        error.assign(0)
                        errorRecord.assign(0)
                        recordIndex.assign(0)
                        m.when(recordCount == 0) { runDone.assign(1) }
                            .otherwise { state.assign(State.fetchCommand.rawValue) }
                    }
                }
                s.is(State.fetchCommand.rawValue) {
                    for (target, value) in zip(commandTargets, recordCommand(recordBase)) { target.assign(value) }
                    rdValid.assign(1)
                    fetchBeat.assign(0)
                    fetchIndex.assign(1)
                    fetchAddress.assign(recordBase &+ ControlRecordFields.recordBytes)
                    olderFetches.assign(0)
                    youngerFetches.assign(0)
                    staleFetches.assign(0)
                    for valid in queueValid { valid.assign(0) }
                    earlyStep.assign(0)
                    for flag in earlyNeed + earlyIssued { flag.assign(0) }
                    state.assign(State.fetchData.rawValue)
                }
                s.is(State.load.rawValue) {
                    for (word, next) in zip(words, nextWords) { word.assign(next) }
                    state.assign(State.check.rawValue)
                }
                s.is(State.check.rawValue) {
                    m.when(f.magic == ControlRecordFields.magic && (isConv || isCopy)) {
                        clip.clip(f)
                        state.assign(State.clamp.rawValue)
                    }.otherwise {
                        error.assign(1)
                        errorRecord.assign(recordIndex)
                        state.assign(State.drain.rawValue)
                    }
                }
                s.is(State.clamp.rawValue) {
                    clip.clamp(f)
                    state.assign(State.offsets.rawValue)
                }
                s.is(State.offsets.rawValue) {
                    clip.offsets(f)
                    state.assign(State.startPass.rawValue)
                }
                s.is(State.startPass.rawValue) {
                    clip.address(f)
                    currentLayer.assign(f.layer)
                    passDoneSeen.assign(0)
                    wrValid.assign(writes)
                    // What went out early while the previous pass ran is not asked for again.
                    for (p, want) in clip.wants(f).enumerated() {
                        needCommand[p].assign(want && !earlyIssued[p])
                        earlyIssued[p].assign(0)
                    }
                    for p in [Phase.params, .residual].map(\.index) { needData[p].assign(clip.wants(f)[p]) }
                    needData[Phase.pixels.index].assign(f.regionRows != 0 && f.regionCols != 0)
                    beatI.assign(0)
                    beatJ.assign(0)
                    state.assign(State.pass.rawValue)
                }
                s.is(State.pass.rawValue) {
                    m.when(passDone) { passDoneSeen.assign(1) }
                    m.when(passEnds) {
                        traceDone.assign(1)
                        traceLayer.assign(f.layer.bits(15, 0))
                        recordsDone.assign(recordsDone &+ 1)
                        recordIndex.assign(recordIndex &+ 1)
                        earlyStep.assign(0)
                        for need in earlyNeed { need.assign(0) }
                        // The layer ends with this record when the next one is of another layer, is
                        // not runnable (the run stops at it) or there is none. This cycle still
                        // counts for it; the next cycle is the next layer's first.
                        let lastRecord = recordIndex &+ 1 == recordCount
                        m.when(lastRecord || !nextRunnable || nf.layer != f.layer) {
                            layersDone.assign(layersDone &+ 1)
                            layerDoneIndex.assign(f.layer)
                            for ((counter, event), done) in zip(layerCounters, layerSnapshot) {
                                done.assign(mux(event, counter &+ 1, counter))
                                counter.assign(0)
                            }
                        }
                        m.when(lastRecord && weightsIdle) {
                            runDone.assign(1)
                            state.assign(State.idle.rawValue)
                        }.elsewhen(lastRecord) {
                            state.assign(State.drain.rawValue)
                        }.otherwise {
                            for (word, next) in zip(words, nextWords) { word.assign(next) }
                            for (buffer, after) in zip(queue, queue.dropFirst()) {
                                for (word, next) in zip(buffer, after) { word.assign(next) }
                            }
                            for (valid, after) in zip(queueValid, queueValid.dropFirst() + [Signal.false]) { valid.assign(after) }
                            // The older fetches lie ahead of the new pass's data; the younger ones
                            // behind it, and so ahead of the pass after's.
                            staleFetches.assign(olderFetches)
                            olderFetches.assign(fetchesPending)
                            youngerFetches.assign(0)
                            // The next record was checked (runnable) and clipped while this pass
                            // ran: start it in the next cycle instead of clipping it again.
                            m.when(earlyStep >= 4 && nextRunnable) {
                                clip.load(early)
                                state.assign(State.startPass.rawValue)
                            }.otherwise { state.assign(State.check.rawValue) }
                        }
                    }
                }
                // Weight beats still coming (a run that stopped at a bad record, or a WEIGHT_BEATS
                // beyond the records' sets) are taken and dropped, so the run leaves nothing in flight.
                s.is(State.drain.rawValue) {
                    m.when(weightsIdle) {
                        runDone.assign(1)
                        state.assign(State.idle.rawValue)
                    }
                }
                s.default {}
            }

            m.output("busy", busy)
            m.output("error", error)
            m.output("error_record", errorRecord)
            m.output("run_done", runDone)
            m.output("records_done", recordsDone)
            m.output("cycles", cycles)
            m.output("stall_input", stallInput)
            m.output("stall_output", stallOutput)
            m.output("engine_beats", engineBeats)
            m.output("prune_active", activity.bits(31, 0))
            m.output("current_layer", currentLayer)
            m.output("layers_done", layersDone)
            m.output("layer_done_index", layerDoneIndex)
            m.output("layer_done_cycles", layerDoneCycles)
            m.output("layer_done_stall_input", layerDoneStallInput)
            m.output("layer_done_stall_output", layerDoneStallOutput)
            m.output("layer_done_engine_beats", layerDoneEngineBeats)
            m.output("trace_record_done", traceDone)
            m.output("trace_layer", traceLayer)
            // Reserved bits of the record, the high activity bits and the stream's tlast (the router
            // counts beats itself) are unused on purpose.
            for w in words + queue.joined() { m.discard(w) }
            m.discard(activity)
            m.discard(sLast)
        }
    }
}

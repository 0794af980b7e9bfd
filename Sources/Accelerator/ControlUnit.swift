import HDLKit

/// The control unit of docs/control.md: on `start` it runs `record_count` control records from
/// `record_base`, one pass of the ExecutionUnit each.
///
/// Per record: fetch it (one read command, 128/B beats; from the second record on, during the
/// previous pass), check magic and op (a bad record stops the run with `error` and `error_record` =
/// its index), clip the region against the image, pulse `pass_start` with the decoded fields on the
/// pass-configuration ports (held until the pass ends), then issue the pass's read commands back to
/// back (params, weights, residual, the in-image part of the pixels; each after the previous
/// command's handshake) and, on `last` passes and copies, the write command. A router hands the
/// `s_axis` beats to the ExecutionUnit's `in_*` in the same phase order; in the pixel phase it walks
/// the region in raster order and merges fill beats (every byte `fill_value`) with the in-image
/// beats, whose bytes at or above `inChunk` it replaces by `fill_value`. The pass ends when every
/// beat was routed, every command accepted, the next record fetched and the unit reported
/// `pass_done`; then `trace_record_done` pulses with `trace_layer`.
///
/// Timing: the next record's fetch command follows the pass's last read command (2 cycles after its
/// handshake); its beats, which come after the pass's, land in a second record buffer while the pass
/// drains. So from the cycle a pass ends to the next `pass_start` is `passGapCycles` (check, clamp,
/// offsets, pass start), unless the record's beats arrive after the pass's end, which then waits for
/// them. The first record costs 3 cycles + the memory's latency + 128/B beats more. A pass's first
/// read command is valid 2 cycles after `pass_start`; a further command follows 2 cycles after each
/// handshake. The `s_axis` → `in_*` and `in_ready` → `s_axis_tready` paths are combinational (no
/// buffering, no bubbles within a phase).
///
/// Figures (cleared at start): `cycles` busy, `stall_input` (s_axis_tready && !s_axis_tvalid: a
/// phase wanted a beat that memory did not have), `stall_output` (output_valid && !output_ready),
/// `engine_beats` (the unit's `engine_beat`), `records_done`; `current_layer` is the running
/// record's `layer`; `prune_active` is the low 32 bits of the unit's `activity` (never cleared).
public struct ControlUnit {
    public let config: AcceleratorConfig
    public let module: Module

    /// Cycles from a pass's end to the next `pass_start` when the next record has arrived by then.
    public static let passGapCycles = 4

    /// Phases of a pass in their order; the value is the ExecutionUnit's `in_phase`.
    public enum Phase: Int, CaseIterable { case params = 0, weights, residual, pixels }

    enum State: Int { case idle = 0, fetchCommand, fetchData, load, check, clamp, offsets, startPass, pass }

    public init(config c: AcceleratorConfig) throws {
        try c.validate()
        config = c
        let b = c.streamBytes
        let recordBeats = ControlRecordFields.recordBytes / b
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
            let rdChunk = m.reg("m_rd_cmd_chunk_q", .uint(8), reset: 0)
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

            // The record, words 0 ... 24, filled beat by beat.
            let words = (0..<ControlRecordFields.usedWords).map { m.reg("record_w\($0)", .uint(32), reset: 0) }
            // The next record arrives here while the pass still runs (the pass's fields must hold
            // until it ends) and moves into `words` when it does.
            let nextWords = (0..<ControlRecordFields.usedWords).map { m.reg("next_record_w\($0)", .uint(32), reset: 0) }
            let f = ControlRecordFields(words: words)
            let isConv = m.wire("is_conv", f.op == ControlRecordFields.opConv)
            let isCopy = m.wire("is_copy", f.op == ControlRecordFields.opCopy)
            let writes = m.wire("writes_results", isCopy || f.last)

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
            for (name, value) in f.executionPorts(isCopy: isCopy) { m.output(name, value) }
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
            let recordAddress = m.reg("record_address", .uint(32), reset: 0)
            let fetchBeat = m.reg("fetch_beat", .uint(addressWidth(recordBeats)), reset: 0)
            let error = m.reg("error_q", .bool, reset: 0)
            let errorRecord = m.reg("error_record_q", .uint(32), reset: 0)
            let runDone = m.reg("run_done_q", .bool, reset: 0)
            let traceDone = m.reg("trace_done_q", .bool, reset: 0)
            let traceLayer = m.reg("trace_layer_q", .uint(16), reset: 0)
            let currentLayer = m.reg("current_layer_q", .uint(32), reset: 0)
            let passDoneSeen = m.reg("pass_done_seen", .bool, reset: 0)
            let prefetchIssued = m.reg("prefetch_issued", .bool, reset: 0)
            let prefetchDone = m.reg("prefetch_done", .bool, reset: 0)
            let moreRecords = m.wire("more_records", recordIndex &+ 1 != recordCount)
            runDone.assign(0)
            traceDone.assign(0)

            // Clipping of the region against the image, over three cycles (check, clamp, offsets).
            let rowLo = m.reg("row_lo", .sint(17), reset: 0)
            let colLo = m.reg("col_lo", .sint(17), reset: 0)
            let rowHi = m.reg("row_hi", .sint(18), reset: 0)
            let colHi = m.reg("col_hi", .sint(18), reset: 0)
            let rowFirst = m.reg("row_first", .uint(16), reset: 0)
            let rowEnd = m.reg("row_end", .uint(16), reset: 0)
            let colFirst = m.reg("col_first", .uint(16), reset: 0)
            let colEnd = m.reg("col_end", .uint(16), reset: 0)
            let rowOffset = m.reg("row_offset", .uint(32), reset: 0)
            let colOffset = m.reg("col_offset", .uint(32), reset: 0)
            let pixelAddress = m.reg("pixel_address", .uint(32), reset: 0)
            let rowsIn = m.wire("rows_in", rowEnd &- rowFirst)
            let colsIn = m.wire("cols_in", colEnd &- colFirst)

            func minimum(_ a: Signal, _ b: Signal) -> Signal { mux(a < b, a, b) }
            func maximum(_ a: Signal, _ b: Signal) -> Signal { mux(a < b, b, a) }
            /// The in-image index range [lo, hi) of region indices 0 ..< extent whose image coordinate
            /// origin + i lies in [0, size): lo = max(0, −origin), hi = min(extent, size − origin).
            func clip(_ origin: Signal, _ size: Signal, _ extent: Signal, lo: Signal, hi: Signal) {
                lo.assign(mux(origin < 0, -origin, Signal.sint(0, width: 17)))
                hi.assign(minimum(extent.toSigned.extend(to: 18), size.toSigned - origin))
            }
            /// [lo, hi) clamped into [0, extent] with lo ≤ hi; both then fit 16 bits unsigned.
            func clamp(lo: Signal, hi: Signal, extent: Signal, first: Signal, end: Signal) {
                let l = minimum(lo.extend(to: 18), extent.toSigned.extend(to: 18))
                let h = maximum(l, hi)
                first.assign(l.asUnsigned.truncate(to: 16))
                end.assign(h.asUnsigned.truncate(to: 16))
            }

            // Phase bookkeeping: commands still to issue, beats still to route.
            let needCommand = m.regs("need_command", count: 4, .bool, reset: 0)
            let needData = m.regs("need_data", count: 4, .bool, reset: 0)
            let rdValid = m.reg("rd_valid", .bool, reset: 0)
            rdValidOut.assign(rdValid)
            m.when(rdValid && rdReady) { rdValid.assign(0) }

            /// The read command of each phase: address, chunk, count1, stride1, count2, stride2.
            let commands: [[Signal]] = [
                [f.parameterAddress, .uint(16, width: 8), f.paramRecords, .uint(16, width: 32), .uint(1, width: 16), .uint(0, width: 32)],
                [f.weightAddress, .uint(b, width: 8), f.weightBeats, .uint(b, width: 32), .uint(1, width: 16), .uint(0, width: 32)],
                [f.residualAddress, f.outChunk, f.outputCols, f.outputPixelStride, f.outputRows, f.outputRowStride],
                [pixelAddress, f.inChunk, colsIn, f.inputPixelStride, rowsIn, f.inputRowStride],
            ]
            let commandTargets = [rdAddress, rdChunk, rdCount1, rdStride1, rdCount2, rdStride2]
            m.when(inState(.pass) && !rdValid) {
                // The lowest phase still needing its command; `when` chains keep the priority.
                var chain: WhenContext?
                for p in Phase.allCases {
                    let body = {
                        for (target, value) in zip(commandTargets, commands[p.rawValue]) { target.assign(value) }
                        rdValid.assign(1)
                        needCommand[p.rawValue].assign(0)
                    }
                    chain = chain.map { $0.elsewhen(needCommand[p.rawValue], body) } ?? m.when(needCommand[p.rawValue], body)
                }
                // After the pass's own commands: the next record's fetch.
                _ = chain?.elsewhen(!prefetchIssued && moreRecords) {
                    let record = [recordAddress &+ ControlRecordFields.recordBytes, .uint(b, width: 8), .uint(recordBeats, width: 16),
                                  .uint(b, width: 32), .uint(1, width: 16), .uint(0, width: 32)]
                    for (target, value) in zip(commandTargets, record) { target.assign(value) }
                    rdValid.assign(1)
                    prefetchIssued.assign(1)
                }
            }

            // The beat router.
            let anyData = m.wire("any_data", needData.dropFirst().reduce(needData[0]) { $0 || $1 })
            let phase = m.wire("phase", mux(needData[0], Signal.uint(0, width: 2),
                                           mux(needData[1], Signal.uint(1, width: 2),
                                               mux(needData[2], Signal.uint(2, width: 2), Signal.uint(3, width: 2)))))
            let beatI = m.reg("beat_i", .uint(16), reset: 0)
            let beatJ = m.reg("beat_j", .uint(16), reset: 0)
            let extent1 = m.wire("extent1", select(phase, [f.paramRecords, f.weightBeats, f.outputCols, f.regionCols]))
            let extent2 = m.wire("extent2", select(phase, [.uint(1, width: 16), .uint(1, width: 16), f.outputRows, f.regionRows]))
            let pixelPhase = m.wire("pixel_phase", phase == Phase.pixels.rawValue)
            let inImage = m.wire("in_image", beatJ >= rowFirst && beatJ < rowEnd && beatI >= colFirst && beatI < colEnd)
            let isFill = m.wire("is_fill", pixelPhase && !inImage)
            inValid.assign(anyData && (isFill || sValid))
            inPhase.assign(phase)
            for (i, out) in inBytes.enumerated() {
                let replaced = isFill || (pixelPhase && f.inChunk <= i)
                out.assign(mux(replaced, f.fillValue, sBytes[i].asSigned))
            }
            // Record beats: the first record's fetch, or the next record's once the pass's beats are all routed.
            let prefetching = m.wire("prefetching", inState(.pass) && prefetchIssued && !prefetchDone && !anyData)
            let fetching = m.wire("fetching", inState(.fetchData) || prefetching)
            sReady.assign(fetching || (anyData && !isFill && inReady))
            m.when(fetching && sValid) {
                for (w, word) in nextWords.enumerated() {
                    let lane = w % wordsPerBeat
                    m.when(fetchBeat == w / wordsPerBeat) {
                        word.assign(cat(sBytes[4 * lane + 3], sBytes[4 * lane + 2], sBytes[4 * lane + 1], sBytes[4 * lane]))
                    }
                }
                m.when(fetchBeat == recordBeats - 1) {
                    fetchBeat.assign(0)
                    m.when(prefetching) { prefetchDone.assign(1) }.otherwise { state.assign(State.load.rawValue) }
                }.otherwise { fetchBeat.assign(fetchBeat &+ 1) }
            }
            let routed = m.wire("beat_routed", anyData && (isFill || sValid) && inReady)
            m.when(routed) {
                m.when(beatI == extent1 &- 1) {
                    beatI.assign(0)
                    m.when(beatJ == extent2 &- 1) {
                        beatJ.assign(0)
                        for p in Phase.allCases { m.when(phase == p.rawValue) { needData[p.rawValue].assign(0) } }
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
            m.when(busy && sReady && !sValid) { stallInput.assign(stallInput &+ 1) }
            m.when(busy && outputValid && !outputReady) { stallOutput.assign(stallOutput &+ 1) }
            m.when(busy && engineBeat) { engineBeats.assign(engineBeats &+ 1) }

            // The sequencer.
            m.switch(state) { s in
                s.is(State.idle.rawValue) {
                    m.when(start) {
                        for r in [cycles, stallInput, stallOutput, engineBeats, recordsDone] { r.assign(0) }
                        error.assign(0)
                        errorRecord.assign(0)
                        recordIndex.assign(0)
                        recordAddress.assign(recordBase)
                        m.when(recordCount == 0) { runDone.assign(1) }
                            .otherwise { state.assign(State.fetchCommand.rawValue) }
                    }
                }
                s.is(State.fetchCommand.rawValue) {
                    let record = [recordAddress, .uint(b, width: 8), .uint(recordBeats, width: 16), .uint(b, width: 32),
                                  .uint(1, width: 16), .uint(0, width: 32)]
                    for (target, value) in zip(commandTargets, record) { target.assign(value) }
                    rdValid.assign(1)
                    fetchBeat.assign(0)
                    state.assign(State.fetchData.rawValue)
                }
                s.is(State.load.rawValue) {
                    for (word, next) in zip(words, nextWords) { word.assign(next) }
                    state.assign(State.check.rawValue)
                }
                s.is(State.check.rawValue) {
                    m.when(f.magic == ControlRecordFields.magic && (isConv || isCopy)) {
                        clip(f.regionRow0, f.imageRows, f.regionRows, lo: rowLo, hi: rowHi)
                        clip(f.regionCol0, f.imageCols, f.regionCols, lo: colLo, hi: colHi)
                        state.assign(State.clamp.rawValue)
                    }.otherwise {
                        error.assign(1)
                        errorRecord.assign(recordIndex)
                        runDone.assign(1)
                        state.assign(State.idle.rawValue)
                    }
                }
                s.is(State.clamp.rawValue) {
                    clamp(lo: rowLo, hi: rowHi, extent: f.regionRows, first: rowFirst, end: rowEnd)
                    clamp(lo: colLo, hi: colHi, extent: f.regionCols, first: colFirst, end: colEnd)
                    state.assign(State.offsets.rawValue)
                }
                s.is(State.offsets.rawValue) {
                    // The first in-image position's image coordinates: max(0, origin).
                    func imageFirst(_ origin: Signal) -> Signal { mux(origin < 0, Signal.uint(0, width: 16), origin.asUnsigned) }
                    rowOffset.assign((imageFirst(f.regionRow0) * f.inputRowStride).truncate(to: 32))
                    colOffset.assign((imageFirst(f.regionCol0) * f.inputPixelStride).truncate(to: 32))
                    state.assign(State.startPass.rawValue)
                }
                s.is(State.startPass.rawValue) {
                    pixelAddress.assign(f.inputAddress &+ rowOffset &+ colOffset)
                    currentLayer.assign(f.layer)
                    passDoneSeen.assign(0)
                    prefetchIssued.assign(0)
                    prefetchDone.assign(0)
                    wrValid.assign(writes)
                    let wants: [Signal] = [
                        f.loadParams && f.paramRecords != 0,
                        isConv && f.weightBeats != 0,
                        f.residual && writes && f.outputCols != 0 && f.outputRows != 0,
                        f.regionRows != 0 && f.regionCols != 0,
                    ]
                    for p in 0..<3 {
                        needCommand[p].assign(wants[p])
                        needData[p].assign(wants[p])
                    }
                    needCommand[3].assign(rowsIn != 0 && colsIn != 0)
                    needData[3].assign(wants[3])
                    beatI.assign(0)
                    beatJ.assign(0)
                    state.assign(State.pass.rawValue)
                }
                s.is(State.pass.rawValue) {
                    m.when(passDone) { passDoneSeen.assign(1) }
                    let commandsOut = needCommand.reduce(rdValid) { $0 || $1 }
                    m.when(!anyData && !commandsOut && !wrValid && passDoneSeen && (prefetchDone || !moreRecords)) {
                        traceDone.assign(1)
                        traceLayer.assign(f.layer.bits(15, 0))
                        recordsDone.assign(recordsDone &+ 1)
                        recordIndex.assign(recordIndex &+ 1)
                        recordAddress.assign(recordAddress &+ ControlRecordFields.recordBytes)
                        m.when(recordIndex &+ 1 == recordCount) {
                            runDone.assign(1)
                            state.assign(State.idle.rawValue)
                        }.otherwise {
                            for (word, next) in zip(words, nextWords) { word.assign(next) }
                            state.assign(State.check.rawValue)
                        }
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
            m.output("trace_record_done", traceDone)
            m.output("trace_layer", traceLayer)
            // Reserved bits of the record, the high activity bits and the stream's tlast (the router
            // counts beats itself) are unused on purpose.
            for w in words + nextWords { m.discard(w) }
            m.discard(activity)
            m.discard(sLast)
        }
    }
}

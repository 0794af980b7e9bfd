import HDLKit

/// The datapath half of the accelerator top (docs/control.md): it runs one control record's pass
/// at a time from the pass configuration and the phase-tagged beats the ControlUnit hands it,
/// and produces the pass's output beats. The port contract is EXECUTION_UNIT.md's.
///
/// Per phase of a pass:
///   params (0):   P = parameterRecordsPerBeat 16-byte records per beat (bias, multiplier,
///                 shift, int32 LE; record k in bytes 16k ..< 16k + 16, `param_records` in all, so
///                 the last beat may hold fewer) into the QuantizationUnit's FIFOs, P entries a
///                 cycle, cleared at `pass_start` when `load_params`; the bound FIFO gets
///                 `act_min`/`act_max` with every record.
///   weights:      not a phase: the sets come on their own port (`wt_*`, from the WeightStreamer,
///                 in pass order, each beat with its set's layout `wt_mode`/`wt_wide` and
///                 `wt_set_last` on the set's last), written straight into the datapath's next
///                 weight set in that layout (LayerDatapath `weightBeatBytes`) as soon as the set
///                 before went active. A conv pass with `weight_beats` > 0 waits until the next set
///                 is whole, then latches its slice flags (`w_load`, `first`/`last`) and swaps the
///                 set active (`w_swap`) before any pixel is taken; one with `weight_beats` 0 keeps
///                 the active set and swaps in only its flags, from `pass_start`. `weights_clear`
///                 (a run's start) empties the next set.
///   residual (2): beat n into the residual buffer (OutputPath): position n's `lanes` bytes, or with
///                 `residual_span` bytes n·B ..< (n+1)·B of whole residual pixels, position n's at
///                 n·`residual_stride` + `residual_offset` (a `residualKept` pass has no such phase
///                 and reads what the pass before it left there).
///   pixels (3):   standard/depthwise: the reshape unit (started at `pass_start` with the region;
///                 a depthwise beat is a pixel of `depthwiseSlices` channel slices, bytes s·PC + c;
///                 a standard `wide` pass is a split window, SplitWindow: two filter groups a window);
///                 pointwise: PV beats gathered into one engine beat (`wide`: each beat is one
///                 engine beat, slot s's lanes taking the bytes from `slot_offset_s` units on,
///                 so a beat may carry several positions); folded: a region row's beats
///                 gathered onto the tap lanes (`keep`: stored in the input buffer too; `replay`:
///                 the engine beat comes from the input buffer, the beat only paces it); copy: into
///                 the result FIFO.
/// Results (conv `last` passes and copies) go through `OutputPath`: the result FIFO, a serializer
/// (one position per beat, only the pass's out_rows·out_cols positions), the ADD (`ResidualAdder`,
/// with the residual word read by position index; its `add` is `residual`) and the output FIFO.
///
/// Nothing after the engine stalls, so beats are admitted by credits: an engine beat (a window
/// leaving the reshape unit, a gathered pointwise beat) of a `last` pass, or a copy beat, enters
/// only while the result FIFO has an entry nobody has claimed (`window_hold` on the reshape unit's
/// output, `in_ready` for pointwise and copy beats), and the serializer issues a position into the
/// ADD pipeline only while the output FIFO has a free word. So no result is ever dropped, whatever
/// `out_ready` does. Passes that are not `last` produce no results and never wait.
///
/// Flip-flops beyond the units it instantiates: the pointwise gather (PV·PC·8), the serializer
/// stage (B·8), counters.
/// RAM: the input buffer, PK block RAMs of inputBufferDepth / PK words of PC bytes (16 × 1393 ×
/// 9 bytes = 200 kB at the paper's configuration, its RAM-S/RAM-M budget); the residual buffer,
/// B/U block RAMs of U-byte words (U = OutputPath.residualUnit), outputBufferDepth·lanes bytes
/// and one word more; the result FIFO
/// (PV·lanes bytes × ~30 entries) and the output FIFO (8·B + 1 bits × 16) in distributed RAM.
/// Counted in the emitted Verilog at the paper's configuration: 1.3k register bits of its own,
/// 10.0k in the 16-lane ResidualAdder, 2.6k in the FIFOs' read-side registers; 31 kbit of result
/// FIFO and 2 kbit of output FIFO; 2 banks of 3137 × 8 bytes of residual buffer. (The datapath's
/// next and active weight sets are 2 × 18,432; loading the next set beat by beat saves a third copy.)
///
/// Latencies (no back-pressure): a window or pointwise beat reaches the result FIFO after
/// LayerDatapath's latency; serializer → `out_valid` is `outputLatency` = 1 (residual read) +
/// ResidualAdder.latency + 1 (output FIFO) cycles with the fused ADD, 2 without it. `pass_done` is registered: one cycle after the
/// later of the last pixel beat taken and the last output beat accepted (conv `last`, copy) or the
/// last engine beat (conv not `last`). Pixel beats are counted against region_rows·region_cols.
public struct ExecutionUnit: Sendable {
    public let config: AcceleratorConfig
    public let datapath: LayerDatapath
    public let outputPath: OutputPath

    public init(config: AcceleratorConfig) throws {
        try config.validate()
        let lanes = max(config.pf, config.pc)
        datapath = try LayerDatapath(config: config, maxHeight: 4096, maxOutputs: config.outputBufferDepth,
                                     maxChannels: max(2, config.depthwiseSlices) * lanes, weightBeatBytes: config.streamBytes)
        // The result FIFO covers the engine's longest pipeline plus the credit round trip, so a
        // pass whose output is never back-pressured runs at one engine beat per cycle.
        let resultDepth = max(datapath.latency, datapath.depthwiseLatency, datapath.pointwiseLatency) + 8
        outputPath = try OutputPath(config: config, resultDepth: resultDepth, residualDepth: config.outputBufferDepth)
        self.config = config
    }

    public var streamBytes: Int { config.streamBytes }
    /// Words of the input buffer (AcceleratorConfig.inputBufferWords).
    public var inputBufferWords: Int { config.inputBufferWords }
    /// Result lanes: max(PF, PC).
    public var lanes: Int { max(config.pf, config.pc) }
    /// Cycles from a position leaving the serializer to its beat on `out_*` (nothing waiting),
    /// with and without the fused ADD.
    public static func outputLatency(residual: Bool) -> Int { OutputPath.latency(residual: residual) }
    /// Cycles from the last engine beat of a `last` pass to its `pass_done` when nothing waits:
    /// the datapath's latency in that mode, the result FIFO (1), the serializer to `out_*`
    /// (`outputLatency`) and the registered `pass_done` (1).
    public func drainLatency(_ mode: ConvolutionMode, residual: Bool = false) -> Int {
        let engine: Int = switch mode {
        case .depthwise: datapath.depthwiseLatency
        case .pointwise: datapath.pointwiseLatency
        default: datapath.latency   // standard and folded
        }
        return engine + 1 + Self.outputLatency(residual: residual) + 1
    }

    public var name: String {
        let c = config
        return "ExecutionUnit_k\(c.pk)_c\(c.pc)_f\(c.pf)_d\(c.pd)_b\(c.streamBytes)_o\(c.outputBufferDepth)"
            + "_r\(c.maxRowWidth)_x\(c.dataWidth)_w\(c.weightWidth)_a\(c.accumulatorWidth)" + (c.dspPacking ? "_packed" : "")
    }

    public func module() throws -> Module {
        let c = config, pc = c.pc, pv = c.pv, dw = c.dataWidth, ww = c.weightWidth
        let bytes = streamBytes, lanes = lanes
        let dpModule = try datapath.module(), outputModule = try outputPath.module(), outputPath = outputPath
        return Module(name) { m in
            // MARK: pass configuration
            let opCopy = m.input("op_copy", .bool)
            let mode = m.input("mode", .uint(2))
            let first = m.input("first", .bool)
            let last = m.input("last", .bool)
            let loadParams = m.input("load_params", .bool)
            let residual = m.input("residual", .bool)
            let residualSpan = m.input("residual_span", .bool)
            let residualStride = m.input("residual_stride", .uint(16))
            let residualOffset = m.input("residual_offset", .uint(8))
            let resultSecond = m.input("result_second", .bool)
            let stride2 = m.input("stride2", .bool)
            let pads = ["pad_top", "pad_bottom", "pad_left", "pad_right"].map { ($0, m.input($0, .bool)) }
            let regionRows = m.input("region_rows", .uint(16))
            let regionCols = m.input("region_cols", .uint(16))
            let outRows = m.input("out_rows", .uint(16))
            let outCols = m.input("out_cols", .uint(16))
            let outChunk = m.input("out_chunk", .uint(c.chunkWidth))
            let fillValue = m.input("fill_value", .sint(8))
            let outZp = m.input("out_zp", .sint(8))
            let actMin = m.input("act_min", .sint(8))
            let actMax = m.input("act_max", .sint(8))
            let addParameters = [("add_in1_offset", 16), ("add_in2_offset", 16), ("add_in1_multiplier", 32),
                                 ("add_in2_multiplier", 32), ("add_out_multiplier", 32), ("add_in1_shift", 8), ("add_in2_shift", 8),
                                 ("add_out_shift", 8), ("add_out_offset", 8), ("add_min", 8), ("add_max", 8)]
                .map { ($0.0, m.input($0.0, .sint($0.1))) }
            let threshold = m.input("threshold", .uint(8))
            let paramRecords = m.input("param_records", .uint(16))
            let weightBeats = m.input("weight_beats", .uint(16))
            let keep = m.input("keep", .bool)
            let replay = m.input("replay", .bool)
            let bufferRow0 = m.input("buffer_row0", .uint(16))
            let slotOffsets = c.pointwiseSlices > 1 ? (0 ..< c.wideSlots).map { m.input("slot_offset_\($0)", .uint(8)) } : []
            let hasSingleSlice = c.hasSingleSliceSlots
            let singleSliceFlag = hasSingleSlice ? m.input("single_slice", .bool) : Signal.false
            // Folded beats of one tap lane each (word 0 bit 20), where a beat otherwise fills several.
            let oneTapFlag = c.foldTaps > 1 ? m.input("one_tap", .bool) : Signal.false
            // Depthwise beats of several positions (word 24 bits 16-24; LayerDatapath's window remap).
            let dwPositions = c.depthwiseSlices > 1
                ? (m.input("dw_positions", .uint(4)), m.input("position_slices", .uint(4)), m.input("position_half", .bool)) : nil
            let passStart = m.input("pass_start", .bool)

            let inValid = m.input("in_valid", .bool)
            let inPhase = m.input("in_phase", .uint(2))
            let inByte = (0 ..< bytes).map { m.input("in_byte_\($0)", .sint(8)) }
            let inReady = m.output("in_ready", .bool)
            let taken = m.wire("in_taken", inValid && inReady)

            let conv = m.wire("is_conv", !opCopy)
            let pointwise = m.wire("is_pointwise", conv && mode == 1)
            let depthwise = m.wire("is_depthwise", conv && mode == 2)
            let folded = m.wire("is_folded", conv && mode == 3)
            // Wide pointwise: one position per engine beat, on every pixel lane, lane v computing
            // filter group v (AcceleratorConfig.pointwiseSlices; without them the flag is ignored).
            let wideFlag = m.input("wide", .bool)
            let wide: Signal, split: Signal
            if c.pointwiseSlices > 1 {
                wide = m.wire("is_wide", pointwise && wideFlag)
                // On a standard pass: the split window (SplitWindow), two filter groups per window.
                split = m.wire("is_split", conv && mode == 0 && wideFlag)
            } else { m.discard(wideFlag); wide = .false; split = .false }
            // Single-slice slots (word 0 bit 19): every slot one slice, so lanes from S on are slots too.
            let single = hasSingleSlice ? m.wire("is_single_slice", wide && singleSliceFlag) : Signal.false
            let windowed = m.wire("is_windowed", conv && (mode == 0 || mode == 2))
            // Products of the pass's geometry, registered (the ports are stable long before they are used).
            let positions = m.reg("positions", next: outRows * outCols)
            let regionPixels = m.reg("region_pixels", next: regionRows * regionCols)

            // MARK: the composed datapath
            let dp = m.instance(dpModule, "datapath")
            dp.pointwise.assign(pointwise)
            dp.depthwise.assign(depthwise)
            dp.folded.assign(folded)
            dp.wide.assign(wide || split)
            if hasSingleSlice { dp.single_slice.assign(single) }
            if let (p, q, half) = dwPositions { dp.dw_positions.assign(p); dp.position_slices.assign(q); dp.position_half.assign(half) }
            dp.in_zp.assign(fillValue.resize(dw))
            dp.out_zp.assign(outZp.resize(dw))
            dp.threshold.assign(threshold.resize(ww))
            dp.stride2.assign(stride2)
            for (name, pad) in pads { dp.port(name).assign(pad) }
            dp.height.assign(regionRows.resize(dp.height.width))
            dp.width.assign(regionCols.resize(dp.width.width))
            m.output("engine_beat", dp.engine_beat)
            m.output("activity", dp.activity)
            m.discard(dp.busy)
            m.discard(dp.param_overflow)
            m.discard(dp.out_end)

            // MARK: params → the quantization FIFOs, P = parameterRecordsPerBeat entries per beat
            // (record k of a beat in bytes 16k ..< 16k + 16; the pass's last beat may hold fewer).
            let paramBeat = m.wire("param_beat", taken && inPhase == 0)
            func word(_ i: Int) -> Signal { cat((0 ..< 4).reversed().map { inByte[4 * i + $0] }).asSigned }
            dp.param_clear.assign(passStart && loadParams)
            let perBeat = c.parameterRecordsPerBeat
            if perBeat == 1 {
                m.discard(paramRecords)
                dp.bias_push.assign(paramBeat)
                dp.bias_data.assign(word(0))
                dp.mult_push.assign(paramBeat)
                dp.mult_multiplier.assign(word(1))
                dp.mult_shift.assign(word(2).truncate(to: dp.mult_shift.width))
                dp.bound_push.assign(paramBeat)
                dp.bound_min.assign(actMin.resize(dw))
                dp.bound_max.assign(actMax.resize(dw))
            } else {
                let pushed = m.reg("params_pushed", .uint(16), reset: 0)
                let left = m.wire("params_left", paramRecords &- pushed)
                let countWidth = dp.bias_push_count.width
                let count = m.wire("params_in_beat", mux(left >= perBeat, Signal.uint(perBeat, width: countWidth), left.resize(countWidth)))
                m.when(passStart) { pushed.assign(Signal.uint(0, width: 16)) }
                    .elsewhen(paramBeat) { pushed.assign(pushed &+ count.resize(16)) }
                let pushes = m.wire("params_push_count", mux(paramBeat, count, Signal.uint(0, width: countWidth)))
                dp.bias_push_count.assign(pushes)
                dp.mult_push_count.assign(pushes)
                dp.bound_push_count.assign(pushes)
                for k in 0 ..< perBeat {
                    dp.port("bias_data_\(k)").assign(word(4 * k))
                    dp.port("mult_multiplier_\(k)").assign(word(4 * k + 1))
                    dp.port("mult_shift_\(k)").assign(word(4 * k + 2).truncate(to: dp.port("mult_shift_\(k)").width))
                    dp.port("bound_min_\(k)").assign(actMin.resize(dw))
                    dp.port("bound_max_\(k)").assign(actMax.resize(dw))
                }
            }

            // MARK: weights: their own stream, set by set into the datapath's next set → active
            // The sets come in pass order on `wt_*` (WeightStreamer), each with its layout (`wt_mode`,
            // `wt_wide`) and `wt_set_last` on its last beat. A set loads as soon as the one before it
            // went active, so while a pass streams its pixels the next pass's weights come in beside
            // them, and that pass finds them there when it starts.
            let wtValid = m.input("wt_valid", .bool)
            let wtSetLast = m.input("wt_set_last", .bool)
            let wtMode = m.input("wt_mode", .uint(2))
            let wtWide = m.input("wt_wide", .bool)
            let wtBytes = (0 ..< bytes).map { m.input("wt_byte_\($0)", .sint(8)) }
            // A run that stopped early may leave a set half loaded: the next run starts empty.
            let weightsClear = m.input("weights_clear", .bool)
            let nextFull = m.reg("next_set_full", .bool, reset: 0)
            m.output("wt_ready", !nextFull)
            let weightBeat = m.wire("weight_beat", wtValid && !nextFull)
            let wb = dp.w_beat.width
            let weightAt = m.reg("weight_at", .uint(wb), reset: 0)
            m.when(weightsClear || (weightBeat && wtSetLast)) { weightAt.assign(Signal.uint(0, width: wb)) }
                .elsewhen(weightBeat) { weightAt.assign(weightAt &+ 1) }
            dp.w_beat_valid.assign(weightBeat)
            dp.w_beat.assign(weightAt)
            for b in 0 ..< bytes { dp.port("w_byte_\(b)").assign(wtBytes[b]) }
            dp.w_set_pointwise.assign(wtMode == 1)
            dp.w_set_depthwise.assign(wtMode == 2)
            if c.pointwiseSlices > 1 { dp.w_set_wide.assign(wtWide && wtMode == 1) } else { m.discard(wtWide) }
            // A conv pass swaps its set in once the set is whole; a conv pass of no weight beats keeps
            // the set before it (still active) and swaps in its slice flags only.
            let keepsSet = m.wire("keeps_set", weightBeats == 0)
            let waitingSet = m.reg("waiting_set", .bool, reset: 0)
            let weightsIn = m.wire("weights_in", (passStart && conv && (keepsSet || nextFull)) || (waitingSet && nextFull))
            m.when(passStart) { waitingSet.assign(conv && !keepsSet && !nextFull) }
                .elsewhen(weightsIn) { waitingSet.assign(.false) }
            let load = m.reg("w_load_q", next: weightsIn, reset: 0)
            let swap = m.reg("w_swap_q", next: load, reset: 0)
            m.when(weightsClear || (swap && !keepsSet)) { nextFull.assign(.false) }
                .elsewhen(weightBeat && wtSetLast) { nextFull.assign(.true) }
            let armed = m.reg("armed", .bool, reset: 0)
            m.when(passStart) { armed.assign(.false) }.elsewhen(swap) { armed.assign(.true) }
            dp.w_load.assign(load)
            dp.w_swap.assign(swap)
            dp.w_keep_set.assign(keepsSet)
            dp.w_first.assign(first)
            dp.w_last.assign(last)

            // MARK: the output path: result FIFO, residual buffer, serializer, ADD, output FIFO
            let op = m.instance(outputModule, "output_path")
            op.pass_start.assign(passStart)
            // A wide position (or a split window's) is one result entry whose pixel lanes are its
            // filter groups: the output path packs it as it packs a depthwise pixel's slices (PC = PF).
            op.pointwise.assign(pointwise && !wide)
            op.depthwise.assign(depthwise || wide || split)
            op.copy.assign(opCopy)
            op.residual.assign(residual)
            op.residual_span.assign(residualSpan)
            op.residual_stride.assign(residualStride)
            op.residual_offset.assign(residualOffset)
            op.result_second.assign(resultSecond)
            op.positions.assign(positions)
            op.out_chunk.assign(outChunk)
            for (name, signal) in addParameters { op.port(name).assign(signal) }
            let hasResultSpace = m.wire("has_result_space", op.has_space)
            op.residual_write.assign(taken && inPhase == 2)
            for b in 0 ..< bytes { op.port("residual_\(b)").assign(inByte[b]) }

            // MARK: pixels
            let pixelPhase = m.wire("pixel_phase", inPhase == 3)
            // Standard/depthwise: the reshape unit, started once per pass.
            let startPending = m.reg("start_pending", .bool, reset: 0)
            m.when(passStart) { startPending.assign(windowed) }.elsewhen(dp.start_ready) { startPending.assign(.false) }
            dp.start.assign(startPending)
            let reshapeOpen = m.wire("reshape_open", armed && !startPending)
            dp.in_valid.assign(inValid && pixelPhase && windowed && reshapeOpen)
            // A depthwise beat carries S = depthwiseSlices slices of the pixel (bytes s·PC + c).
            for ch in 0 ..< c.depthwiseSlices * pc { dp.port("x_\(ch)").assign(inByte[ch].resize(dw)) }
            dp.window_hold.assign(last && !hasResultSpace)

            // Pointwise: PV beats make one engine beat. Folded: a region row's beats (region_cols of
            // them) make one, beat x filling taps x·t ..< x·t + t from bytes (k − x·t)·PC + c; a
            // row's first beat sets the other taps to the fill value, so taps it has no beat for add 0.
            let t = c.foldTaps
            let pb = addressWidth(pv)
            let gatherAt = m.reg("gather_at", .uint(pb), reset: 0)
            // Pixel beats of the pass, in every mode (pass_done waits for the last one).
            let pixelBeat = m.wire("pixel_beat", taken && pixelPhase)
            let pixelCount = m.reg("pixel_count", .uint(32), reset: 0)
            m.when(passStart) { pixelCount.assign(Signal.uint(0, width: 32)) }
                .elsewhen(pixelBeat) { pixelCount.assign(pixelCount &+ 1) }
            let lastPixel = m.wire("last_pixel", pixelCount == regionPixels &- 1)
            let rowEnd = m.wire("gather_row_end", gatherAt.resize(16) == regionCols &- 1)
            let completes = m.wire("gather_completes", mux(folded, rowEnd, gatherAt == pv - 1 || wide) || lastPixel)
            let pointReady = m.wire("point_ready", armed && (!completes || !last || hasResultSpace))
            let pointBeat = m.wire("point_beat", pixelBeat && (pointwise || folded))
            m.when(passStart) { gatherAt.assign(Signal.uint(0, width: pb)) }
                .elsewhen(pointBeat) { gatherAt.assign(mux(completes, Signal.uint(0, width: pb), gatherAt &+ 1)) }
            let rowStart = m.wire("gather_row_start", gatherAt == 0)
            // The input buffer: `keep` folded passes store each gathered position (the engine beat
            // they feed) at word buffer_row0 + n; `replay` folded passes take position n's engine beat
            // from that word instead, one per (fill) pixel beat, so a filter group after the first
            // reads its input from here and not from memory. One block RAM per tap lane.
            let positionAt = m.reg("gather_position", .uint(16), reset: 0)
            let completesNow = m.wire("gather_position_done", pointBeat && completes)
            m.when(passStart) { positionAt.assign(Signal.uint(0, width: 16)) }
                .elsewhen(completesNow) { positionAt.assign(positionAt &+ 1) }
            let bufferWords = inputBufferWords
            let ab = addressWidth(bufferWords)
            let bufferAddress = m.wire("input_buffer_address", (bufferRow0 &+ positionAt).resize(ab))
            let storeNow = m.reg("input_buffer_store", next: completesNow && folded && keep, reset: 0)
            let storeAt = m.reg("input_buffer_store_at", next: bufferAddress)
            let replaying = m.wire("replaying", folded && replay)
            var px = [[Signal]]()
            // Wide: pixel lane q·S + s takes slice q of the position at slot s's offset (bytes
            // o_s·U + q·PC + c; with every offset 0, the beat's slice q on all S lanes). Bytes past
            // the beat are fill. The offset selects among ceil(B / U) starts: a small mux per byte,
            // where a byte-granular offset would need a B-way one.
            let wideLanes = c.pointwiseSlices, beatSlices = c.pointwiseBeatSlices, unit = c.slotOffsetUnit
            let offsetBits = addressWidth(c.slotOffsetChoices)
            let slotChoice = slotOffsets.enumerated().map { s, o in m.wire("slot_\(s)_choice", o.bits(offsetBits - 1, 0)) }
            for o in slotOffsets where offsetBits < 8 { m.discard(o) }
            let oneTap = c.foldTaps > 1 ? m.wire("is_one_tap", folded && oneTapFlag) : Signal.false
            for v in 0 ..< pv {
                // Beat x fills taps x·t ..< x·t + t, or tap x alone on a one-tap pass.
                let mine = m.wire("gather_tap_\(v)", t > 1 ? mux(oneTap, gatherAt == v, gatherAt == v / t) : gatherAt == v)
                let loads = m.wire("px_load_\(v)", pointBeat && mux(folded, mine || rowStart, gatherAt == v || wide))
                px.append((0 ..< pc).map { ch in
                    let tapByte = t > 1 ? mux(oneTap, inByte[ch], inByte[(v % t) * pc + ch]).resize(dw) : inByte[ch].resize(dw)
                    var plain = inByte[ch].resize(dw)
                    if wideLanes > 1 && v < wideLanes * beatSlices {
                        let q = v / wideLanes, s = v % wideLanes
                        let starts = (0 ..< c.slotOffsetChoices).map { j -> Signal in
                            let at = j * unit + q * pc + ch
                            return at < bytes ? inByte[at].resize(dw) : fillValue.resize(dw)
                        }
                        plain = mux(wide, select(slotChoice[s], starts), plain)
                    }
                    if hasSingleSlice && v >= wideLanes && v < c.singleSliceSlots {
                        // Lanes below S take slice 0 at their own slot's offset in both kinds.
                        let starts = (0 ..< c.slotOffsetChoices).map { j -> Signal in
                            j * unit + ch < bytes ? inByte[j * unit + ch].resize(dw) : fillValue.resize(dw)
                        }
                        plain = mux(single, select(slotChoice[v], starts), plain)
                    }
                    let next = mux(folded, mux(mine, tapByte, fillValue.resize(dw)), plain)
                    return m.reg("px_\(v)_\(ch)", next: next, enable: loads)
                })
                let word = cat(px[v].reversed())
                let buffer = m.memory("input_buffer_\(v)", depth: bufferWords, word.type, style: .block)
                buffer.write(storeAt, word, enable: storeNow)
                let stored = buffer.read(bufferAddress, enable: completesNow && replaying, name: "input_buffer_\(v)_word")
                for ch in 0 ..< pc {
                    let fromBuffer = stored.bits(dw * ch + dw - 1, dw * ch).asSigned
                    dp.port("px_\(v)_\(ch)").assign(mux(replaying, fromBuffer, px[v][ch]))
                }
            }
            dp.px_valid.assign(m.reg("px_valid_q", next: pointBeat && completes, reset: 0))
            dp.px_end.assign(m.reg("px_end_q", next: pointBeat && lastPixel, reset: 0))

            // Copy: straight into the result FIFO.
            let copyBeat = m.wire("copy_beat", pixelBeat && opCopy)

            inReady.assign(mux(pixelPhase,
                               mux(opCopy, hasResultSpace, mux(pointwise || folded, pointReady, reshapeOpen && dp.in_ready)),
                               Signal.true))

            // MARK: results → the output path
            // A beat that will produce a result claims its result-FIFO entry when it is admitted.
            op.claim.assign((last && (dp.engine_beat && windowed || pointBeat && completes)) || copyBeat)
            op.push.assign(dp.out_valid || copyBeat)
            for e in 0 ..< outputPath.entryBytes {
                let result: Signal = e < pv * lanes ? dp.port("y_\(e / lanes)_\(e % lanes)").resize(8) : Signal.sint(0, width: 8)
                let copy: Signal = e < bytes ? inByte[e] : Signal.sint(0, width: 8)
                op.port("entry_\(e)").assign(mux(copyBeat, copy, result))
            }
            op.out_ready.assign(m.input("out_ready", .bool))
            m.output("out_valid", op.out_valid)
            for b in 0 ..< bytes { m.output("out_byte_\(b)", op.port("out_byte_\(b)")) }
            let outLast = m.output("out_last", op.out_last)
            let outFire = op.out_fire

            // MARK: pass_done
            // Both halves of the end, in either order: the last pixel beat taken (a VALID or
            // stride-2 region may end in rows no window uses) and the results: the last output
            // beat accepted, or for a conv pass that is not `last` the last engine beat.
            let running = m.reg("running", .bool, reset: 0)
            let pixelsIn = m.reg("pixels_in", .bool, reset: 0)
            let resultsOut = m.reg("results_out", .bool, reset: 0)
            let lastPixelNow = m.wire("last_pixel_now", pixelBeat && lastPixel)
            let resultsNow = m.wire("results_now", mux(conv && !last, dp.engine_last, outFire && outLast))
            let ends = m.wire("pass_ends", running && (pixelsIn || lastPixelNow) && (resultsOut || resultsNow))
            m.when(passStart) {
                running.assign(.true)
                pixelsIn.assign(.false)
                resultsOut.assign(.false)
            }.otherwise {
                m.when(ends) { running.assign(.false) }
                m.when(lastPixelNow) { pixelsIn.assign(.true) }
                m.when(resultsNow) { resultsOut.assign(.true) }
            }
            m.output("pass_done", m.reg("pass_done_q", next: ends, reset: 0))
        }
    }
}

import HDLKit

/// One convolution layer's datapath, the units composed as seed 003's Fig. 3 chains them:
/// ReshapeUnit → ConvolutionEngine (standard, depthwise or pointwise mode) → SliceAccumulator →
/// QuantizationUnit (without the fused shortcut). Pointwise beats bypass the reshape unit. The
/// controller and the DMA are outside: whoever drives the ports streams the pixels, the weights
/// and the quantization parameters.
///
/// How a standard layer runs: the output channels are done PF at a time (a filter group); for
/// each group the input is streamed once per PC-channel slice, each stream a reshape "layer"
/// (`start` with the geometry). The slices of a group are summed per output position by the
/// accumulator; after the group's last slice the totals are requantized and leave on `y_0_<f>`,
/// one output pixel (PF channels) per `out_valid`, in raster order; `out_end` marks a group's
/// last pixel. (A 1×1 layer can run this way too, with only the centre tap's weights (k = 4)
/// nonzero and all four pads 1, at one pixel per cycle.)
/// A pointwise layer (`pointwise` high) runs at the engine's PV pixels per cycle instead: per
/// (filter group, channel slice) pass the pixels come in raster order, PV at a time, on
/// `px_<v>_<c>` with `px_valid` (the last beat of a pass may be partial; its extra lanes are
/// don't-care) and `px_end` on the pass's last beat; `w_<f>_<v>_<c>` is filter f's weight of
/// channel c, the same for every v; results are `y_<v>_<f>`, pixel v of the beat.
/// A depthwise layer (`depthwise` high, held for the layer) streams each PC-channel slice once,
/// with `w_first` and `w_last` both high: output channel c of the slice is lane c, its taps are
/// `w_<d>_<k>_<c>`, and its result is `y_0_<c>`. With S = `depthwiseSlices` > 1 a pixel carries
/// S slices (x_<s·PC + c>): window group s < S of the engine takes slice s with weights
/// `w_<s>_<k>_<c>` and its results are `y_<s>_<c>`, requantized with parameter slice s (the
/// quantization unit's `pixel_slices`), so S windows are computed per cycle; groups from S to PD
/// repeat slice 0 (lane 0's weights), unread. With `dw_positions` P > 1 and `position_slices` Q
/// (or `position_half`: half a slice; all held like `depthwise`) a pixel is P adjacent positions
/// and the window groups' lanes take their taps as `DepthwisePositions.source` names them, so P
/// positions are computed per cycle.
/// `pointwise` and `depthwise` select the engine's mode; hold them for the layer.
///
/// Ports:
///   layer:   start, height, width, stride2, pad_top, pad_bottom, pad_left, pad_right, in_zp,
///            out_zp; start_ready (see ReshapeUnit for the geometry and the start queue). `in_zp`
///            and `out_zp` are read directly, so hold them while a layer is in flight.
///   pixels:  in_valid, x_<c> (c < S·PC: the slices' channels; unused lanes don't care); in_ready.
///   weights: w_load, w_first, w_last, w_<f>_<k>_<c> (filter lane f < PF, tap k = 3·row + column,
///            channel c < PC); or, built with `weightBeatBytes`, w_beat_valid, w_beat, w_byte_<b>
///            (see `streamedWeights`) in the layout of `w_set_pointwise`, `w_set_depthwise`,
///            `w_set_wide` (the set's own, which may be a later pass's), with `w_load` then latching
///            only the slice flags, the set going active only on `w_swap`, and `w_keep_set` (with
///            `w_swap`) swapping in the flags alone. `w_load` writes the *next* weight set and its slice flags (`w_first`:
///            the group's first slice, `w_last`: its last). The next set becomes the *active* one
///            when the window of a stream's last output has entered the engine (so load the next
///            slice's weights any time after the running slice's first window, before its last),
///            or on `w_swap` (for the very first slice, with nothing in flight).
///   quantization: param_clear, bias_push/bias_data, bound_push/bound_min/bound_max,
///            mult_push/mult_multiplier/mult_shift: QuantizationUnit's three FIFOs, one entry per
///            output channel, each group padded to max(PF, PC) entries (a depthwise slice is a
///            group of PC), loaded once per layer; built with `weightBeatBytes`, P =
///            `parameterRecordsPerBeat` entries a cycle (`*_push_count`, data ports `_<k>`).
///   pointwise: pointwise, px_valid, px_end, px_<v>_<c> (v < PV); wide (with `pointwise`, held
///            for the layer): lanes q·S + v (S = `pointwiseSlices`, q < K = `pointwiseBeatSlices`)
///            carry slice q of one position with filter group v's weights of it, the K lanes of a
///            group are added, and results y_<v>_<f> are the position's channels v·PF + f,
///            requantized with parameter slice v.
///   single_slice (where `singleSliceSlots` > `pointwiseSlices`; held with `wide`): lane v <
///            `singleSliceSlots` is filter group v on its own (no sum of two slices' lanes).
///   split:   `wide` on a standard pass (neither pointwise, depthwise nor folded; SplitWindow): the
///            window's taps 4, 5, 7, 8 on their own lanes compute filter group 0 (results y_0_<f>),
///            copies of them on lanes 0-3 group 1 (y_1_<f>, parameter slice 1); lane 6 is unused.
///   folded:  folded (held for the layer, with `pointwise` and `depthwise` low): the `px_*` beats
///            are standard windows, px_<k>_<c> tap k's channel c, one output position per beat.
///   engine:  threshold (pruning: products with |w| ≤ threshold are skipped; 0 is exact),
///            window_hold (high: the reshape unit's window waits instead of entering the engine;
///            pointwise beats are not held), engine_beat (a beat entered the engine this cycle),
///            engine_last (that beat is its stream's last), activity (the engine's 48-bit count
///            of multipliers that worked, never cleared).
///   out:     out_valid, out_end, y_<v>_<j> (sint dataWidth, v < PV, j < max(PF, PC): filter
///            lane j, or channel j of depthwise slice v; v > 0 only in pointwise mode and for
///            depthwise slices v < S), busy (the
///            reshape unit's), param_overflow.
///
/// Timing: the reshape unit takes a slice's pixels in (H + pad_bottom)·W cycles and slices queued
/// back to back follow without a gap, so a layer of S slices and G groups takes
/// (H + pad_bottom)·W·S·G cycles plus the reshape unit's 2 and `latency` for the last result
/// (measured: e.g. 6×7×6 → 5 SAME, 4 passes: 196 + 22). Pointwise: ceil(H·W/PV)·S·G beats plus
/// `pointwiseLatency`. The latencies are beat → result: engine + accumulator (2) + quantization (8).
public struct LayerDatapath: Sendable {
    public let config: AcceleratorConfig
    public let maxHeight: Int
    /// Output positions per stream the accumulator holds (OH·OW of one layer).
    public let maxOutputs: Int
    /// Output channels the quantization FIFOs hold.
    public let maxChannels: Int
    /// Bytes per weight beat when the next set is loaded from a byte stream (`streamedWeights`),
    /// nil when it is loaded whole from the `w_<f>_<k>_<c>` ports.
    public let weightBeatBytes: Int?

    public struct Invalid: Error, CustomStringConvertible, Equatable {
        public let description: String
    }

    /// `weightBeatBytes`: load the next weight set from beats of that many bytes in
    /// docs/control.md's per-mode layout (`w_beat_valid`, `w_beat`, `w_byte_<b>`) instead of from
    /// the `w_<f>_<k>_<c>` ports, so a loader needs no staging registers of its own.
    public init(config: AcceleratorConfig, maxHeight: Int = 64, maxOutputs: Int = 256, maxChannels: Int = 64,
                weightBeatBytes: Int? = nil) throws {
        try config.validate()
        if let b = weightBeatBytes, !(1 ... 4096).contains(b) {
            throw Invalid(description: "LayerDatapath weightBeatBytes \(b): must be 1 to 4096 bytes per beat")
        }
        self.weightBeatBytes = weightBeatBytes
        guard (1 ... (1 << 22)).contains(maxOutputs) else {
            throw Invalid(description: "LayerDatapath maxOutputs \(maxOutputs): must be 1 to \(1 << 22) output positions per stream")
        }
        _ = try ReshapeUnit(config: config, maxHeight: maxHeight)
        let lanes = max(config.pf, config.pc)
        let accumulator = try SliceAccumulator(config: config, lanes: config.pv * lanes, depth: maxOutputs)
        let quant = try QuantizationUnit(config: config, pixels: config.pv, filters: lanes, maxChannels: maxChannels, residual: false,
                                         pixelSlices: config.depthwiseSlices,
                                         pushWidth: weightBeatBytes == nil ? 1 : config.parameterRecordsPerBeat)
        let engine = try ConvolutionEngine(config)
        latency = engine.latency(.standard) + accumulator.latency + quant.latency
        depthwiseLatency = engine.latency(.depthwise) + accumulator.latency + quant.latency
        pointwiseLatency = engine.latency(.pointwise) + accumulator.latency + quant.latency
        self.config = config
        self.maxHeight = maxHeight
        self.maxOutputs = maxOutputs
        self.maxChannels = maxChannels
    }

    /// Cycles from a window on the reshape unit's output to its requantized result on `y_*` (for
    /// the group's last slice) in standard mode.
    public let latency: Int
    /// The same in depthwise mode (no channel adder in the engine).
    public let depthwiseLatency: Int
    /// Cycles from a `px_valid` beat to its results (for the group's last slice).
    public let pointwiseLatency: Int
    /// Result lanes: max(PF, PC).
    public var lanes: Int { max(config.pf, config.pc) }

    public var name: String {
        let c = config
        return "LayerDatapath_k\(c.pk)_c\(c.pc)_f\(c.pf)_d\(c.pd)_x\(c.dataWidth)_w\(c.weightWidth)_a\(c.accumulatorWidth)"
            + "_r\(c.maxRowWidth)_h\(maxHeight)_o\(maxOutputs)_ch\(maxChannels)"
            + (weightBeatBytes.map { "_wb\($0)" } ?? "") + (c.dspPacking ? "_packed" : "")
            + (c.depthwiseSlices > 1 ? "_s\(c.depthwiseSlices)" : "")
    }

    public func module() throws -> Module {
        let c = config, pk = c.pk, pc = c.pc, pf = c.pf, pd = c.pd, dw = c.dataWidth, ww = c.weightWidth
        // Depthwise slices per beat: the reshape unit carries all S of them side by side.
        let slices = c.depthwiseSlices
        let reshape = try ReshapeUnit(config: c, maxHeight: maxHeight, lanes: slices > 1 ? slices * pc : nil)
        let engine = try ConvolutionEngine(c)
        let lanes = lanes
        let pv = c.pv
        let accumulator = try SliceAccumulator(config: c, lanes: pv * lanes, depth: maxOutputs)
        let quant = try QuantizationUnit(config: c, pixels: pv, filters: lanes, maxChannels: maxChannels, residual: false,
                                         pixelSlices: slices, pushWidth: weightBeatBytes == nil ? 1 : c.parameterRecordsPerBeat)
        let reshapeModule = reshape.module(), engineModule = engine.module(), accModule = accumulator.module()
        return Module(name) { m in
            // MARK: reshape unit
            let ru = m.instance(reshapeModule, "reshape")
            for p in ["start", "height", "width", "stride2", "pad_top", "pad_bottom", "pad_left", "pad_right", "in_valid"] {
                let port = ru.port(p)
                port.assign(m.input(p, port.type))
            }
            let inZp = m.input("in_zp", .sint(dw))
            ru.in_zp.assign(inZp)
            for ch in 0 ..< slices * pc { ru.port("x_\(ch)").assign(m.input("x_\(ch)", .sint(dw))) }
            // Nothing downstream stalls: the engine, accumulator and quantization unit take a beat every
            // cycle. `window_hold` lets a consumer with a bounded result buffer stop the reshape
            // unit's windows before they enter the engine (ExecutionUnit's credits).
            let windowHold = m.input("window_hold", .bool)
            ru.out_ready.assign(!windowHold)
            m.output("start_ready", ru.start_ready)
            m.output("in_ready", ru.in_ready)
            m.discard(ru.out_row)
            m.discard(ru.out_col)
            let depthwise = m.input("depthwise", .bool)
            let pointwise = m.input("pointwise", .bool)
            // Folded beats come on the pixel ports too (one position, its slices on the tap lanes)
            // but go through the engine in standard mode.
            let folded = m.input("folded", .bool)
            let gathered = m.wire("gathered", pointwise || folded)
            // Wide pointwise (held for the layer, with `pointwise`): pixel lane v < S carries the same
            // position and the weights of filter group v; its results requantize with parameter slice v.
            let wideIn = m.input("wide", .bool)
            let wide: Signal, split: Signal
            if c.pointwiseSlices > 1 {
                wide = m.wire("is_wide", pointwise && wideIn)
                // Split window (`wide` on a standard pass): two filter groups per window, both over the
                // window's 2×2 taps 4, 5, 7, 8 (SplitWindow).
                split = m.wire("is_split", wideIn && !pointwise && !depthwise && !folded)
            } else { m.discard(wideIn); wide = .false; split = .false }
            // A single-slice wide pass (held with `wide`): lane v < singleSliceSlots is filter group v
            // alone, without the two-slice sums.
            let single = c.hasSingleSliceSlots ? m.input("single_slice", .bool) : Signal.false
            let pxValid = m.input("px_valid", .bool)
            let pxEnd = m.input("px_end", .bool)
            let px = (0 ..< pv).map { v in (0 ..< pc).map { ch in m.input("px_\(v)_\(ch)", .sint(dw)) } }
            // One beat into the engine per cycle: a window, or in pointwise mode PV pixels.
            let window = m.wire("beat_valid", mux(gathered, pxValid, ru.out_valid && !windowHold))
            let streamLast = m.wire("beat_last", mux(gathered, pxEnd, ru.out_last))

            // MARK: weights: the next set (loaded by the port) and the active set (read by the engine)
            let load = m.input("w_load", .bool)
            let swapNow = m.input("w_swap", .bool)
            // A streamed next set may already hold the pass after this one's weights (its loader runs
            // ahead), so it becomes active only on `w_swap`, never by itself at a stream's end.
            let swap = m.wire("weights_swap", weightBeatBytes == nil ? swapNow || (window && streamLast) : swapNow)
            let firstIn = m.input("w_first", .bool), lastIn = m.input("w_last", .bool)
            let nextFirst = m.reg("next_first", next: firstIn, reset: 0, enable: load)
            let nextLast = m.reg("next_last", next: lastIn, reset: 0, enable: load)
            let activeFirst = m.reg("active_first", next: nextFirst, reset: 0, enable: swap)
            let activeLast = m.reg("active_last", next: nextLast, reset: 0, enable: swap)
            var active: [[[Signal]]] = []
            // A pass that keeps the set before it swaps in its slice flags only (`w_keep_set`).
            let swapSet = weightBeatBytes == nil ? swap : m.wire("weights_swap_set", swap && !m.input("w_keep_set", .bool))
            let nextSet = weightBeatBytes.map { b -> [[[Signal]]] in
                // The set being loaded may be a later pass's, so its layout comes with its beats.
                let layout = (pointwise: m.input("w_set_pointwise", .bool), depthwise: m.input("w_set_depthwise", .bool))
                let setWide = c.pointwiseSlices > 1 ? m.input("w_set_wide", .bool) : Signal.false
                return streamedWeights(m, beatBytes: b, pointwise: layout.pointwise, depthwise: layout.depthwise, wide: setWide)
            }
            for f in 0 ..< pf {
                active.append((0 ..< pk).map { k in (0 ..< pc).map { ch in
                    let next = nextSet?[f][k][ch]
                        ?? m.reg("next_w_\(f)_\(k)_\(ch)", next: m.input("w_\(f)_\(k)_\(ch)", .sint(ww)), reset: 0, enable: load)
                    return m.reg("active_w_\(f)_\(k)_\(ch)", next: next, reset: 0, enable: swapSet)
                } })
            }

            // MARK: convolution engine
            let ce = m.instance(engineModule, "engine")
            ce.valid.assign(window)
            let modeBits = ConvolutionMode.width
            // A split window needs each tap lane's own sum, which the engine gives in pointwise mode.
            ce.mode.assign(mux(pointwise || split, Signal.uint(ConvolutionMode.pointwise.rawValue, width: modeBits),
                               mux(depthwise, Signal.uint(ConvolutionMode.depthwise.rawValue, width: modeBits),
                                   Signal.uint(ConvolutionMode.standard.rawValue, width: modeBits))))
            ce.in_zp.assign(inZp)
            ce.threshold.assign(m.input("threshold", .uint(ww)))
            ce.activity_clear.assign(Signal.false)
            m.output("activity", ce.activity)
            m.output("engine_beat", window)
            m.output("engine_last", window && streamLast)
            // Depthwise beats of several positions (DepthwisePositions): per window group, tap and
            // chunk of lanes (half a slice where PC is even, which is what a shape moves at least),
            // one select per wide-pixel tap and lane some shape reads instead of the default.
            let chunk = pc % 2 == 0 ? pc / 2 : pc
            var positionSelects = [[[[(tap: Int, lane: Int, select: Signal)]]]](repeating: [], count: pd)
            if slices > 1 {
                let p = m.input("dw_positions", .uint(4)), q = m.input("position_slices", .uint(4)), half = m.input("position_half", .bool)
                let shapes = DepthwisePositions.shapes(slices: slices, pc: pc)
                let shape = shapes.map { sh in
                    m.wire("positions_\(sh.positions)x\(sh.half ? "half" : "\(sh.slices)")",
                           depthwise && p == sh.positions && q == sh.slices && (sh.half ? half : !half))
                }
                for d in 0 ..< pd where d < slices {
                    positionSelects[d] = (0 ..< pk).map { k in
                        (0 ..< pc / chunk).map { h in
                            let lane = d * pc + h * chunk
                            var sources = [(tap: Int, lane: Int, shapes: [Signal])]()
                            for (n, sh) in shapes.enumerated() {
                                guard let from = DepthwisePositions.source(lane: lane, tap: k, shape: sh, pc: pc), from != (k, lane) else { continue }
                                if let at = sources.firstIndex(where: { $0.tap == from.tap && $0.lane == from.lane }) {
                                    sources[at].shapes.append(shape[n])
                                } else { sources.append((from.tap, from.lane, [shape[n]])) }
                            }
                            return sources.map { src in
                                (src.tap, src.lane, m.wire("window_\(d)_\(k)_\(h)_from_\(src.tap)_\(src.lane)",
                                                           src.shapes.dropFirst().reduce(src.shapes[0]) { $0 || $1 }))
                            }
                        }
                    }
                }
            }
            for d in 0 ..< pd {
                for k in 0 ..< pk {
                    for ch in 0 ..< pc {
                        let lane = (d < slices ? d : 0) * pc + ch
                        var tap = ru.port("win_\(k)_\(lane)")
                        for src in positionSelects[d].isEmpty ? [] : positionSelects[d][k][ch / chunk] {
                            tap = mux(src.select, ru.port("win_\(src.tap)_\(src.lane + ch % chunk)"), tap)
                        }
                        var x = d == 0 ? mux(gathered, px[k][ch], tap) : tap
                        if d == 0 && c.pointwiseSlices > 1, let tap = SplitWindow.copiedTap(lane: k) {
                            x = mux(split, ru.port("win_\(tap)_\(ch)"), x)
                        }
                        ce.port("x_\(d)_\(k)_\(ch)").assign(x)
                    }
                }
            }
            for f in 0 ..< pf { for k in 0 ..< pk { for ch in 0 ..< pc { ce.port("w_\(f)_\(k)_\(ch)").assign(active[f][k][ch]) } } }
            // Result lane (v, j): standard: filter j's sum_<j>_0 (v = 0); depthwise: channel j's
            // sum_<v>_<j> of slice v < S; pointwise: filter j's pixel v, sum_<j>_<v>.
            let aw = c.accumulatorWidth
            let zero = Signal.sint(0, width: aw)
            // Wide: filter group v's sum is its lanes v + q·S over the beat's slices q (wrapping, as
            // the accumulator's sums do).
            let wideLanes = c.pointwiseSlices, beatSlices = c.pointwiseBeatSlices
            let part = (0 ..< pv).map { v in (0 ..< lanes).map { j -> Signal in
                var filterLane = j < pf ? ce.port("sum_\(j)_\(v)") : zero
                if beatSlices > 1 && v < wideLanes && j < pf {
                    let total = (1 ..< beatSlices).reduce(filterLane) { $0 &+ ce.port("sum_\(j)_\(v + $1 * wideLanes)") }
                    filterLane = mux(wide && !single, m.wire("wide_sum_\(v)_\(j)", total), filterLane)
                }
                let channel = v < slices && j < pc ? ce.port("sum_\(v)_\(j)") : zero
                var part = mux(depthwise, channel, v == 0 ? filterLane : mux(pointwise, filterLane, zero))
                if c.pointwiseSlices > 1 && v < SplitWindow.groups && j < pf {
                    let total = SplitWindow.lanes(group: v).dropFirst().reduce(ce.port("sum_\(j)_\(SplitWindow.lanes(group: v)[0])")) {
                        $0 &+ ce.port("sum_\(j)_\($1)")
                    }
                    part = mux(split, m.wire("split_sum_\(v)_\(j)", total), part)
                }
                return m.wire("part_\(v)_\(j)", part)
            } }
            for f in 0 ..< pf {
                for j in 0 ..< engine.lanes where !(j < pv || (f < slices && j < pc)) { m.discard(ce.port("sum_\(f)_\(j)")) }
            }

            // The window's slice flags and stream end travel beside the engine's pipeline, whose
            // depth depends on the mode (depthwise skips the channel adder).
            let short = engine.latency(.depthwise), long = engine.latency(.standard)
            func sideBand(_ s: Signal, _ name: String) -> Signal {
                let early = m.delay(s, by: short, name: name, reset: 0)
                let late = m.delay(early, by: long - short, name: "\(name)_std", reset: 0)
                return m.wire("\(name)_at_sum", mux(depthwise || pointwise || split, early, late))
            }
            let sumFirst = sideBand(activeFirst, "slice_first")
            let sumLast = sideBand(activeLast, "slice_last")
            let sumEnd = sideBand(streamLast, "stream_end")
            let sumValid = m.wire("sum_valid", ce.valid_out)

            // MARK: accumulation over the slices, one word per output position of the stream
            let position = m.reg("position", .uint(accumulator.addressBits), reset: 0)
            m.when(sumValid) {
                m.when(sumEnd) { position.assign(Signal.uint(0, width: accumulator.addressBits)) }
                    .otherwise { position.assign(position &+ 1) }
            }
            let au = m.instance(accModule, "accumulator")
            au.in_valid.assign(sumValid)
            au.in_first.assign(sumFirst)
            au.in_last.assign(sumLast)
            au.in_end.assign(sumEnd)
            au.in_addr.assign(position)
            for v in 0 ..< pv { for j in 0 ..< lanes { au.port("part_\(v * lanes + j)").assign(part[v][j]) } }

            // MARK: quantization: bias, per-channel multiplier, clamp
            let qu = m.instance(quant.module, "quantization")
            qu.in_valid.assign(au.out_valid)
            qu.in_slice_last.assign(au.out_end)
            for v in 0 ..< pv { for j in 0 ..< lanes { qu.port("acc_\(v)_\(j)").assign(au.port("sum_\(v * lanes + j)")) } }
            qu.zero_point.assign(m.input("out_zp", .sint(dw)))
            // The FIFOs' load ports as the quantization unit has them (one entry a cycle, or P).
            let pw = quant.pushWidth
            func entries(_ name: String) -> [String] { pw > 1 ? (0 ..< pw).map { "\(name)_\($0)" } : [name] }
            let loadPorts = ["param_clear"] + ["bias", "bound", "mult"].map { pw > 1 ? "\($0)_push_count" : "\($0)_push" }
                + ["bias_data", "bound_min", "bound_max", "mult_multiplier", "mult_shift"].flatMap(entries)
            for p in loadPorts {
                let port = qu.port(p)
                port.assign(m.input(p, port.type))
            }
            if slices > 1 { qu.pixel_slices.assign(depthwise || wide || split) }
            m.output("param_overflow", qu.param_overflow)
            m.output("out_valid", qu.out_valid)
            m.output("out_end", m.delay(au.out_end, by: quant.latency, name: "group_end", reset: 0))
            for v in 0 ..< pv { for j in 0 ..< lanes { m.output("y_\(v)_\(j)", qu.port("y_\(v)_\(j)")) } }
            m.output("busy", ru.busy)
        }
    }
}

extension LayerDatapath {
    /// The next weight set written beat by beat: byte i of a set (byte i mod B of beat i / B) is,
    /// by mode, standard (k·PC + c)·PF + f, pointwise c·PF + f (every pixel lane v the same; wide:
    /// (v·PC + c)·PF + f for pixel lane v < max(S·K, `singleSliceSlots`) (S·K = `pointwiseSlices` ·
    /// `pointwiseBeatSlices`), lanes beyond keep lane 0's), and
    /// depthwise (s·PK + k)·PC + c for window group s < S (`depthwiseSlices`; groups from S to PD
    /// repeat slice 0; lanes from PD on are off in that mode).
    /// Each register loads only in its own beat, so no set is held twice.
    fileprivate func streamedWeights(_ m: Module, beatBytes b: Int, pointwise: Signal, depthwise: Signal, wide: Signal) -> [[[Signal]]] {
        let c = config, pk = c.pk, pc = c.pc, pf = c.pf, pd = c.pd, ww = c.weightWidth, slices = c.depthwiseSlices
        let beats = (pk * pc * pf + b - 1) / b
        let valid = m.input("w_beat_valid", .bool)
        let beat = m.input("w_beat", .uint(addressWidth(beats)))
        let bytes = (0 ..< b).map { m.input("w_byte_\($0)", .sint(8)).resize(ww) }
        let hit = (0 ..< beats).map { n in m.wire("w_beat_hit_\(n)", valid && beat == n) }
        let standard = m.wire("w_layout_standard", !pointwise && !depthwise)
        let wideSlices = c.pointwiseSlices
        let narrow = wideSlices > 1 ? m.wire("w_layout_pointwise", pointwise && !wide) : pointwise
        return (0 ..< pf).map { f in (0 ..< pk).map { k in (0 ..< pc).map { ch in
            let std = (k * pc + ch) * pf + f, point = ch * pf + f, depth = ((f < slices ? f : 0) * pk + k) * pc + ch
            let r = m.reg("next_w_\(f)_\(k)_\(ch)", .sint(ww), reset: 0)
            m.when(standard && hit[std / b]) { r.assign(bytes[std % b]) }
            if k > 0 && k < max(wideSlices * c.pointwiseBeatSlices, c.singleSliceSlots) {
                // Pixel lane k = q·S + v of a wide pass: filter group v's weights of the beat's slice q,
                // byte (k·PC + c)·PF + f.
                let spread = (k * pc + ch) * pf + f
                m.when(narrow && hit[point / b]) { r.assign(bytes[point % b]) }
                m.when(wide && hit[spread / b]) { r.assign(bytes[spread % b]) }
            } else {
                m.when(pointwise && hit[point / b]) { r.assign(bytes[point % b]) }
            }
            if f < pd { m.when(depthwise && hit[depth / b]) { r.assign(bytes[depth % b]) } }
            return r
        } } }
    }
}

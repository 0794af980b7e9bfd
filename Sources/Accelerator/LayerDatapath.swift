import HDLKit

/// One convolution layer's datapath, the units composed as seed 003's Fig. 3 chains them:
/// ReshapeUnit → ConvolutionEngine (standard or depthwise mode) → SliceAccumulator →
/// QuantizationUnit (without the fused shortcut). The controller and the DMA are outside: whoever drives the ports
/// streams the pixels, the weights and the quantization parameters.
///
/// How a standard layer runs: the output channels are done PF at a time (a filter group); for
/// each group the input is streamed once per PC-channel slice, each stream a reshape "layer"
/// (`start` with the geometry). The slices of a group are summed per output position by the
/// accumulator; after the group's last slice the totals are requantized and leave on `y_<f>`,
/// one output pixel (PF channels) per `out_valid`, in raster order; `out_end` marks a group's
/// last pixel. A 1×1 (pointwise) layer runs the same way with only the centre tap's weights
/// (k = 4) nonzero and all four pads 1: one pixel per cycle, not the engine's PV.
/// A depthwise layer (`depthwise` high, held for the layer) streams each PC-channel slice once,
/// with `w_first` and `w_last` both high: output channel c of the slice is lane c, its taps are
/// `w_<d>_<k>_<c>`, repeated for every d < PD (the engine reads lane 0; the rule is the engine's).
/// The engine computes one window per cycle here (group 0 of its PD).
///
/// Ports:
///   layer:   start, height, width, stride2, pad_top, pad_bottom, pad_left, pad_right, in_zp,
///            out_zp; start_ready (see ReshapeUnit for the geometry and the start queue). `in_zp`
///            and `out_zp` are read directly, so hold them while a layer is in flight.
///   pixels:  in_valid, x_<c> (c < PC, the slice's channels; unused lanes don't care); in_ready.
///   weights: w_load, w_first, w_last, w_<f>_<k>_<c> (filter lane f < PF, tap k = 3·row + column,
///            channel c < PC). `w_load` writes the *next* weight set and its slice flags (`w_first`:
///            the group's first slice, `w_last`: its last). The next set becomes the *active* one
///            when the window of a stream's last output has entered the engine (so load the next
///            slice's weights any time after the running slice's first window, before its last),
///            or on `w_swap` (for the very first slice, with nothing in flight).
///   quantization: param_clear, bias_push/bias_data, bound_push/bound_min/bound_max,
///            mult_push/mult_multiplier/mult_shift: QuantizationUnit's three FIFOs, one entry per
///            output channel (pad the last group to PF entries), loaded once per layer.
///   out:     out_valid, out_end, y_<j> (sint dataWidth, j < max(PF, PC): filter lane j, or
///            channel j of a depthwise slice), busy (the reshape unit's), param_overflow.
///
/// Timing: the reshape unit takes a slice's pixels in (H + pad_bottom)·W cycles and slices queued
/// back to back follow without a gap, so a layer of S slices and G groups takes about
/// (H + pad_bottom)·W·S·G cycles plus `latency` for the last result. `latency` is the window →
/// result delay: engine + accumulator + quantization.
public struct LayerDatapath: Sendable {
    public let config: AcceleratorConfig
    public let maxHeight: Int
    /// Output positions per stream the accumulator holds (OH·OW of one layer).
    public let maxOutputs: Int
    /// Output channels the quantization FIFOs hold.
    public let maxChannels: Int

    public init(config: AcceleratorConfig, maxHeight: Int = 64, maxOutputs: Int = 256, maxChannels: Int = 64) throws {
        try config.validate()
        _ = try ReshapeUnit(config: config, maxHeight: maxHeight)
        let lanes = max(config.pf, config.pc)
        let accumulator = try SliceAccumulator(config: config, lanes: lanes, depth: maxOutputs)
        let quant = try QuantizationUnit(config: config, pixels: 1, filters: lanes, maxChannels: maxChannels, residual: false)
        let engine = try ConvolutionEngine(config)
        latency = engine.latency(.standard) + accumulator.latency + quant.latency
        depthwiseLatency = engine.latency(.depthwise) + accumulator.latency + quant.latency
        self.config = config
        self.maxHeight = maxHeight
        self.maxOutputs = maxOutputs
        self.maxChannels = maxChannels
    }

    /// Cycles from a window on the reshape unit's output to its requantized result on `y_*` (for
    /// the group's last slice) in standard mode; depthwise is `depthwiseLatency`.
    public let latency: Int
    public let depthwiseLatency: Int
    /// Result lanes: max(PF, PC).
    public var lanes: Int { max(config.pf, config.pc) }

    public var name: String {
        let c = config
        return "LayerDatapath_k\(c.pk)_c\(c.pc)_f\(c.pf)_d\(c.pd)_x\(c.dataWidth)_w\(c.weightWidth)_a\(c.accumulatorWidth)"
            + "_r\(c.maxRowWidth)_h\(maxHeight)_o\(maxOutputs)_ch\(maxChannels)" + (c.dspPacking ? "_packed" : "")
    }

    public func module() throws -> Module {
        let c = config, pk = c.pk, pc = c.pc, pf = c.pf, pd = c.pd, dw = c.dataWidth, ww = c.weightWidth
        let reshape = try ReshapeUnit(config: c, maxHeight: maxHeight)
        let engine = try ConvolutionEngine(c)
        let lanes = lanes
        let accumulator = try SliceAccumulator(config: c, lanes: lanes, depth: maxOutputs)
        let quant = try QuantizationUnit(config: c, pixels: 1, filters: lanes, maxChannels: maxChannels, residual: false)
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
            for ch in 0 ..< pc { ru.port("x_\(ch)").assign(m.input("x_\(ch)", .sint(dw))) }
            // Nothing downstream stalls: the engine, accumulator and quantization unit take a beat every cycle.
            ru.out_ready.assign(Signal.true)
            m.output("start_ready", ru.start_ready)
            m.output("in_ready", ru.in_ready)
            m.discard(ru.out_row)
            m.discard(ru.out_col)
            let window = m.wire("window_valid", ru.out_valid)
            let streamLast = m.wire("window_last", ru.out_last)

            // MARK: weights: the next set (loaded by the port) and the active set (read by the engine)
            let load = m.input("w_load", .bool)
            let swapNow = m.input("w_swap", .bool)
            let swap = m.wire("weights_swap", swapNow || (window && streamLast))
            let firstIn = m.input("w_first", .bool), lastIn = m.input("w_last", .bool)
            let nextFirst = m.reg("next_first", next: firstIn, reset: 0, enable: load)
            let nextLast = m.reg("next_last", next: lastIn, reset: 0, enable: load)
            let activeFirst = m.reg("active_first", next: nextFirst, reset: 0, enable: swap)
            let activeLast = m.reg("active_last", next: nextLast, reset: 0, enable: swap)
            var active: [[[Signal]]] = []
            for f in 0 ..< pf {
                active.append((0 ..< pk).map { k in (0 ..< pc).map { ch in
                    let next = m.reg("next_w_\(f)_\(k)_\(ch)", next: m.input("w_\(f)_\(k)_\(ch)", .sint(ww)), reset: 0, enable: load)
                    return m.reg("active_w_\(f)_\(k)_\(ch)", next: next, reset: 0, enable: swap)
                } })
            }

            // MARK: convolution engine, standard or depthwise mode
            let depthwise = m.input("depthwise", .bool)
            let ce = m.instance(engineModule, "engine")
            ce.valid.assign(window)
            ce.mode.assign(mux(depthwise, Signal.uint(ConvolutionMode.depthwise.rawValue, width: ConvolutionMode.width),
                               Signal.uint(ConvolutionMode.standard.rawValue, width: ConvolutionMode.width)))
            ce.in_zp.assign(inZp)
            ce.threshold.assign(Signal.uint(0, width: ww))
            ce.activity_clear.assign(Signal.false)
            m.discard(ce.activity)
            for d in 0 ..< pd {
                for k in 0 ..< pk { for ch in 0 ..< pc { ce.port("x_\(d)_\(k)_\(ch)").assign(ru.port("win_\(k)_\(ch)")) } }
            }
            for f in 0 ..< pf { for k in 0 ..< pk { for ch in 0 ..< pc { ce.port("w_\(f)_\(k)_\(ch)").assign(active[f][k][ch]) } } }
            // Standard: filter lane j's sum_<j>_0; depthwise: channel j's sum_0_<j> (group 0).
            let aw = c.accumulatorWidth
            let part = (0 ..< lanes).map { j -> Signal in
                let standard = j < pf ? ce.port("sum_\(j)_0") : Signal.sint(0, width: aw)
                let channel = j < pc ? ce.port("sum_0_\(j)") : Signal.sint(0, width: aw)
                return m.wire("part_\(j)", mux(depthwise, channel, standard))
            }
            for f in 0 ..< pf {
                for j in 0 ..< engine.lanes where !(j == 0 || (f == 0 && j < pc)) { m.discard(ce.port("sum_\(f)_\(j)")) }
            }

            // The window's slice flags and stream end travel beside the engine's pipeline, whose
            // depth depends on the mode (depthwise skips the channel adder).
            let short = engine.latency(.depthwise), long = engine.latency(.standard)
            func sideBand(_ s: Signal, _ name: String) -> Signal {
                let early = m.delay(s, by: short, name: name, reset: 0)
                let late = m.delay(early, by: long - short, name: "\(name)_std", reset: 0)
                return m.wire("\(name)_at_sum", mux(depthwise, early, late))
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
            for j in 0 ..< lanes { au.port("part_\(j)").assign(part[j]) }

            // MARK: quantization: bias, per-channel multiplier, clamp
            let qu = m.instance(quant.module, "quantization")
            qu.in_valid.assign(au.out_valid)
            qu.in_slice_last.assign(au.out_end)
            for j in 0 ..< lanes { qu.port("acc_0_\(j)").assign(au.port("sum_\(j)")) }
            qu.zero_point.assign(m.input("out_zp", .sint(dw)))
            for p in ["param_clear", "bias_push", "bias_data", "bound_push", "bound_min", "bound_max",
                      "mult_push", "mult_multiplier", "mult_shift"] {
                let port = qu.port(p)
                port.assign(m.input(p, port.type))
            }
            m.output("param_overflow", qu.param_overflow)
            m.output("out_valid", qu.out_valid)
            m.output("out_end", m.delay(au.out_end, by: quant.latency, name: "group_end", reset: 0))
            for j in 0 ..< lanes { m.output("y_\(j)", qu.port("y_0_\(j)")) }
            m.output("busy", ru.busy)
        }
    }
}
